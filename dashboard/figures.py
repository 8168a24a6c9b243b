# ruff: noqa: S608 - the SQL is built from this module's constants; values are parameters
"""The admin and hospital-admin dashboards read from the maintained counters (PostgreSQL; see counters.py).

One prepared statement: the counter rows the dashboard needs (base rows and not yet folded deltas), the
active hospitals, the beds whose reservation has lapsed (shown as available) and, for a hospital admin,
the hospital's name and time zone. Its cost depends on the number of statuses, roles, groups and of
today's 15-minute buckets, not on the number of rows counted.
"""

from datetime import date, datetime

from django.conf import settings
from django.utils import timezone

from dashboard import counters
from dashboard.counters import BASE, BUCKET_SECONDS, DELTA
from hms.api.db import prepared_cursor
from hospitals.models import BedStatus

EPOCH_DAY = date(1970, 1, 1)
# Deltas read by one dashboard beyond which the read folds them into the base rows (the job does too).
FOLD_AFTER = 2000
PLAIN = "'users', 'beds', 'emergencies', 'ambulances'"
INACTIVE_HOSPITALS = "ARRAY(SELECT id FROM hospitals_hospital WHERE NOT is_active)"
INACTIVE_BANKS = "ARRAY(SELECT id FROM bloodbank_bloodbank WHERE NOT is_active)"
HOSPITAL_BANKS = "ARRAY(SELECT id FROM bloodbank_bloodbank WHERE is_active AND hospital_id = %s)"
HOSPITAL_NAME_AND_ZONE = (
    "SELECT 'name', name, 0, 0 FROM hospitals_hospital WHERE id = %s"
    " UNION ALL SELECT 'zone', timezone, 0, 0 FROM hospitals_hospital WHERE id = %s"
)
# Usable blood: every available unit (bucket 0) less the units whose expiry day has come (0 < bucket <= today).
ALL_BLOOD, EXPIRED_BLOOD = "metric = 'blood' AND bucket = 0", "metric = 'blood' AND bucket > 0 AND bucket <= %s"


def _bucket(moment: datetime) -> int | None:
    """The bucket a window edge falls on, or None when it is not on a bucket boundary."""
    seconds = int(moment.timestamp())
    return seconds if seconds % BUCKET_SECONDS == 0 and moment.timestamp() == seconds else None


def today_day() -> int:
    return (timezone.localdate() - EPOCH_DAY).days


def _counter_rows(condition: str, sign: int) -> str:
    return " UNION ALL ".join(
        f"SELECT metric, key, {sign} * n AS n, {is_delta} AS deltas FROM {table} WHERE {condition}"
        for table, is_delta in ((BASE, 0), (DELTA, 1))
    )


def _read(parts: list[tuple[str, list]]) -> dict[tuple[str, str], int]:
    """{(metric, key): n} from the UNION of `parts` (each a SELECT of metric, key, n, deltas)."""
    sql = (
        "SELECT metric, key, SUM(n), SUM(deltas) FROM ("
        + " UNION ALL ".join(part for part, _params in parts)
        + ") AS figures GROUP BY metric, key"
    )
    # Prepared: the statement's text is the same on every read (the window and the clock are
    # parameters), so PostgreSQL plans it once per connection rather than on every dashboard.
    with prepared_cursor() as cursor:
        cursor.execute(sql, [param for _part, params in parts for param in params])
        rows = cursor.fetchall()
    if sum(deltas for *_rest, deltas in rows) > getattr(settings, "DASHBOARD_FOLD_AFTER", FOLD_AFTER):
        fold()
    return {(metric, key): int(n) for metric, key, n, _deltas in rows}


def fold() -> dict:
    return counters.fold(now_epoch=int(timezone.now().timestamp()))


def _appointments_part(scope: int, start: datetime, end: datetime) -> tuple[str, list] | None:
    first, last = _bucket(start), _bucket(end)
    if first is None or last is None:
        return None  # a zone whose midnight is not on a quarter hour: counted live by the caller
    condition = "metric = 'appointments' AND scope = %s AND bucket >= %s AND bucket < %s"
    return _counter_rows(condition, 1), [scope, first, last] * 2


def _by(found: dict, metric: str, choices) -> dict[str, int]:
    return {value: found.get((metric, value), 0) for value, _label in choices}


def _shape(found: dict, choices: dict) -> dict:
    """The dashboard's figures (zeros included) from the counted rows; a lapsed reservation is available."""
    beds = _by(found, "beds", choices["beds"])
    lapsed = found.get(("lapsed", ""), 0)
    beds[BedStatus.RESERVED] -= lapsed
    beds[BedStatus.AVAILABLE] += lapsed
    return {
        "beds_by_status": beds,
        "appointments_today_by_status": _by(found, "appointments", choices["appointments"]),
        "usable_blood_units_by_group": _by(found, "blood", choices["blood"]),
        "open_emergencies_by_severity": _by(found, "emergencies", choices["emergencies"]),
        "ambulances_by_status": _by(found, "ambulances", choices["ambulances"]),
    }


def admin_figures(start: datetime, end: datetime, choices: dict, live_appointments) -> dict:
    day, now = today_day(), timezone.now()
    parts = [
        (_counter_rows(f"metric IN ({PLAIN}) AND scope = 0", 1), []),
        (_counter_rows(f"{ALL_BLOOD} AND scope = 0", 1), []),
        (_counter_rows(f"{EXPIRED_BLOOD} AND scope = 0", -1), [day] * 2),
        # Deactivated hospitals' beds and deactivated banks' blood are not shown: taken off the network's.
        (_counter_rows(f"metric = 'beds' AND scope = ANY({INACTIVE_HOSPITALS})", -1), []),
        (_counter_rows(f"{ALL_BLOOD} AND scope = ANY({INACTIVE_BANKS})", -1), []),
        (_counter_rows(f"{EXPIRED_BLOOD} AND scope = ANY({INACTIVE_BANKS})", 1), [day] * 2),
        ("SELECT 'hospitals', '', COUNT(*), 0 FROM hospitals_hospital WHERE is_active", []),
        (
            "SELECT 'lapsed', '', COUNT(*), 0 FROM hospitals_bed b JOIN hospitals_hospital h ON h.id = b.hospital_id"
            " WHERE b.status = %s AND b.reserved_until <= %s AND h.is_active",
            [BedStatus.RESERVED, now],
        ),
    ]
    appointments = _appointments_part(0, start, end)
    parts += [appointments] if appointments else []
    found = _read(parts)
    figures = {
        "users_by_role": _by(found, "users", choices["users"]),
        "hospitals": found.get(("hospitals", ""), 0),
        **_shape(found, choices),
    }
    if appointments is None:
        figures["appointments_today_by_status"] = live_appointments()
    return figures


def hospital_admin_figures(
    hospital_id: int, start: datetime, end: datetime, choices: dict, live_appointments
) -> tuple[dict, str | None, str | None]:
    """The hospital's figures for the window [start, end), with the hospital's name and time zone as the
    same statement read them: the caller chose the window from the zone it expected, and reads again
    with the zone returned when the two differ."""
    day, now = today_day(), timezone.now()
    parts = [
        (_counter_rows(f"metric IN ({PLAIN}) AND scope = %s", 1), [hospital_id] * 2),
        (_counter_rows(f"{ALL_BLOOD} AND scope = ANY({HOSPITAL_BANKS})", 1), [hospital_id] * 2),
        (_counter_rows(f"{EXPIRED_BLOOD} AND scope = ANY({HOSPITAL_BANKS})", -1), [day, hospital_id] * 2),
        (
            "SELECT 'lapsed', '', COUNT(*), 0 FROM hospitals_bed"
            " WHERE hospital_id = %s AND status = %s AND reserved_until <= %s",
            [hospital_id, BedStatus.RESERVED, now],
        ),
        (HOSPITAL_NAME_AND_ZONE, [hospital_id, hospital_id]),
    ]
    appointments = _appointments_part(hospital_id, start, end)
    parts += [appointments] if appointments else []
    found = _read(parts)
    name = next((key for metric, key in found if metric == "name"), None)
    zone = next((key for metric, key in found if metric == "zone"), None)
    figures = {"staff_by_role": _by(found, "users", choices["users"]), **_shape(found, choices)}
    if appointments is None:
        figures["appointments_today_by_status"] = live_appointments()
    return figures, name, zone
