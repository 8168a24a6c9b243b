# ruff: noqa: S608 - every statement here is built from this module's constants and Django's table names
"""How many slots of a hospital can be booked now, without counting them one by one (PostgreSQL).

The bookable-slots list (`GET /slots?available=true&hospital_id=`, `/appointment/available-slots`) says
how many slots match in `count`: counting them one by one reads every open future slot of the hospital
(thousands), more than the page itself. Instead, a trigger on the slot table appends, in the transaction
that makes the change, a signed row (-1 / +1) to `FreeSlotCount` whenever a slot starts or stops being
*free*: open, with `booked + hold_count < capacity`, keyed by its hospital, its doctor and the UTC day of
its start. Nothing is updated in place (a booking never waits on a counter row another booking holds);
`fold()` sums the rows of each key into one (the job `appointments.fold_slot_counts`, and any read that
finds too many rows).

The count at `now` (`bookable_count`) is then exactly `SlotQuerySet.bookable_q(now)`'s:
- slots starting on a later UTC day than `now`'s: the sum of the counter rows of those days, for the
  doctors that are available (the rows are per doctor);
- plus the slots starting between `now` and the next UTC midnight, counted one by one by the rule;
- plus the slots of those later days that are bookable although not *free*: a hold of theirs has lapsed
  (`hold_count` counts a lapsed hold until a write settles it), found from the few lapsed active holds;
- nothing when the hospital is deactivated or its OPD closed.
appointments/tests/test_slot_counts.py holds the count to the ORM's on random data, across midnight,
lapsed holds, unavailable doctors and concurrent bookings. SQLite (`make run`) counts the rows.
"""

from datetime import UTC, datetime

from django.db import DEFAULT_DB_ALIAS, connections, models, transaction
from django.utils import timezone

from appointments.models import Doctor
from appointments.slot_models import Hold, Slot
from hms.api.db import prepared_cursor
from hms.management.counters import counting_triggers_sql, drop_counting_triggers_sql, recount
from hospitals.models import Hospital

DAY = 86400
FOLD_AFTER = 2000  # counter rows of one hospital past which a read folds first
FOLD_LOCK = 0x534C4F54  # pg advisory lock key: one fold at a time ("SLOT")


class FreeSlotCount(models.Model):
    """Signed changes of the number of free slots per (hospital, doctor, UTC day of the start)."""

    id = models.BigAutoField(primary_key=True)
    hospital_id = models.BigIntegerField()
    doctor_id = models.BigIntegerField()
    day = models.IntegerField(help_text="The start's UTC day (days since 1970-01-01).")
    n = models.IntegerField()

    class Meta:
        app_label = "appointments"
        indexes = [
            models.Index(fields=["hospital_id", "day"], include=["doctor_id", "n"], name="free_slot_count_lookup")
        ]

    def __str__(self) -> str:
        return f"free slots [{self.hospital_id}, {self.doctor_id}, {self.day}] {self.n:+d}"


def _names() -> dict:
    quote = connections["default"].ops.quote_name
    return {
        "counts": quote(FreeSlotCount._meta.db_table),
        "slot": quote(Slot._meta.db_table),
        "hold": quote(Hold._meta.db_table),
        "doctor": quote(Doctor._meta.db_table),
        "hospital": quote(Hospital._meta.db_table),
        "open": Slot.Status.OPEN,
        "active": Hold.Status.ACTIVE,
        "closed": Hospital.OpdStatus.CLOSED,
    }


def _free(row: str) -> str:
    return f"({row}.status = '{Slot.Status.OPEN}' AND {row}.booked + {row}.hold_count < {row}.capacity)"


def _day(row: str) -> str:
    return f"floor(extract(epoch FROM {row}.start) / {DAY})::integer"


def install_sql() -> str:
    """The trigger functions and triggers: a row trigger for updates (called only when a slot's being
    free or its key changes), statement triggers with transition tables for inserts and deletes (slot
    generation inserts a schedule's slots in one statement)."""
    n = _names()
    insert = f"INSERT INTO {n['counts']} (hospital_id, doctor_id, day, n)"

    def key(row: str) -> str:
        return f"ROW({_free(row)}, {row}.hospital_id, {row}.doctor_id, {_day(row)})"

    def added(table: str, sign: str) -> str:
        return (
            f"{insert} SELECT hospital_id, doctor_id, {_day('r')}, {sign}COUNT(*) FROM {table} r "
            f"WHERE {_free('r')} GROUP BY 1, 2, 3"
        )

    changed = f"""    IF {_free("OLD")} THEN
        {insert} VALUES (OLD.hospital_id, OLD.doctor_id, {_day("OLD")}, -1);
    END IF;
    IF {_free("NEW")} THEN
        {insert} VALUES (NEW.hospital_id, NEW.doctor_id, {_day("NEW")}, 1);
    END IF;"""
    return counting_triggers_sql(
        n["slot"],
        "free_slot",
        app="appointments",
        when_changed=f"{key('OLD')} IS DISTINCT FROM {key('NEW')}",
        bodies={
            "changed": changed,
            "inserted": f"    {added('inserted', '')};",
            "deleted": f"    {added('deleted', '-')};",
        },
    )


def uninstall_sql() -> str:
    return drop_counting_triggers_sql(_names()["slot"], "free_slot", app="appointments")


def rebuild(connection) -> None:
    """Recount from the slots (the slot table locked against writes meanwhile)."""
    n = _names()
    recount(
        connection,
        counted=n["slot"],
        counts=n["counts"],
        fill=f"INSERT INTO {n['counts']} (hospital_id, doctor_id, day, n) "
        f"SELECT hospital_id, doctor_id, {_day('s')}, COUNT(*) FROM {n['slot']} s WHERE {_free('s')} "
        "GROUP BY 1, 2, 3",
    )


def fold(connection, *, today: int) -> dict:
    """One row per key (rows summing to 0 and days before `today` dropped). One fold at a time;
    concurrent writes append meanwhile, unblocked."""
    n = _names()
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [FOLD_LOCK])
        if not cursor.fetchone()[0]:
            return {"skipped": "another fold is running"}
        cursor.execute(
            f"WITH moved AS (DELETE FROM {n['counts']} RETURNING hospital_id, doctor_id, day, n) "
            f"INSERT INTO {n['counts']} (hospital_id, doctor_id, day, n) "
            "SELECT hospital_id, doctor_id, day, SUM(n) FROM moved WHERE day >= %s GROUP BY 1, 2, 3 HAVING SUM(n) <> 0",
            [today],
        )
        return {"rows": cursor.rowcount}


def fold_now() -> dict:
    """`fold()` on the default database as of today (the job `appointments.fold_slot_counts`)."""
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor != "postgresql":
        return {"skipped": "the free-slot counters exist on PostgreSQL only"}
    return fold(connection, today=int(timezone.now().timestamp()) // DAY)


def _count_sql() -> str:
    """Parameters (named): hospital, today (UTC day), now, midnight (the next UTC midnight). Columns: the
    count, the counter rows read. No row when the hospital is deactivated or its OPD closed.

    Each part reads the hospital's rows only, and asks whether a doctor is available once per doctor (a
    scalar lookup by id), not by joining every doctor of the network: the counter rows of later days
    summed per doctor; today's remaining slots counted per doctor; the lapsed active holds found
    through the hold's own `hospital_id` (copied from its slot), not among every hospital's."""
    n = _names()
    held = (
        f"(SELECT COUNT(*) FROM {n['hold']} h WHERE h.slot_id = s.id AND h.status = '{n['active']}' "
        "AND h.expires_at > %(now)s)"
    )

    def available(doctor: str) -> str:
        return f"(SELECT d.is_available FROM {n['doctor']} d WHERE d.id = {doctor})"

    return f"""
SELECT later.n + today.n + lapsed.n, later.rows
FROM (
    SELECT COALESCE(SUM(c.n) FILTER (WHERE {available("c.doctor_id")}), 0) AS n, COALESCE(SUM(c.rows), 0) AS rows
    FROM (
        SELECT doctor_id, SUM(n) AS n, COUNT(*) AS rows FROM {n["counts"]}
        WHERE hospital_id = %(hospital)s AND day > %(today)s GROUP BY doctor_id
    ) AS c
) AS later
CROSS JOIN (
    SELECT COALESCE(SUM(k.n) FILTER (WHERE {available("k.doctor_id")}), 0) AS n
    FROM (
        SELECT s.doctor_id, COUNT(*) AS n FROM {n["slot"]} s
        WHERE s.hospital_id = %(hospital)s AND s.status = '{n["open"]}' AND s.start > %(now)s
            AND s.start < %(midnight)s
            AND s.booked < s.capacity - CASE WHEN s.hold_count = 0 THEN 0 ELSE {held} END
        GROUP BY s.doctor_id
    ) AS k
) AS today
CROSS JOIN (
    SELECT COUNT(DISTINCT s.id) AS n FROM {n["hold"]} lapsed_hold
    JOIN {n["slot"]} s ON s.id = lapsed_hold.slot_id
    WHERE lapsed_hold.hospital_id = %(hospital)s AND lapsed_hold.status = '{n["active"]}'
        AND lapsed_hold.expires_at <= %(now)s
        AND s.hospital_id = %(hospital)s AND s.status = '{n["open"]}' AND s.start >= %(midnight)s
        AND s.booked + s.hold_count >= s.capacity AND s.booked < s.capacity - {held}
        AND {available("s.doctor_id")}
) AS lapsed
WHERE EXISTS (
    SELECT 1 FROM {n["hospital"]} WHERE id = %(hospital)s AND is_active AND opd_status <> '{n["closed"]}'
)
"""


_SQL: list[str] = []


def bookable_count(hospital_id: int, now, *, alias: str) -> int | None:
    """How many of the hospital's slots `SlotQuerySet.bookable_q(now)` admits; None on a database
    without the counters (SQLite: count the rows)."""
    connection = connections[alias]
    if connection.vendor != "postgresql":
        return None
    if not _SQL:
        _SQL.append(_count_sql())
    today = int(now.timestamp()) // DAY
    params = {
        "hospital": hospital_id,
        "today": today,
        "now": connection.ops.adapt_datetimefield_value(now),
        "midnight": connection.ops.adapt_datetimefield_value(datetime.fromtimestamp((today + 1) * DAY, tz=UTC)),
    }
    with prepared_cursor(alias) as cursor:
        cursor.execute(_SQL[0], params)
        row = cursor.fetchone()
    if row is None:
        return 0  # the hospital is deactivated or its OPD closed
    count, rows = row
    if rows > FOLD_AFTER and alias == DEFAULT_DB_ALIAS:  # not on a read replica
        fold(connection, today=today)
    return int(count)


def differences(connection) -> list[str]:
    """Every hospital whose bookable-slot count from the counters a plain count does not give."""
    now = timezone.now()
    found = []
    for hospital_id in Hospital.objects.using(connection.alias).order_by("pk").values_list("pk", flat=True):
        counted = bookable_count(hospital_id, now, alias=connection.alias)
        live = (
            Slot.objects.using(connection.alias).filter(Slot.objects.bookable_q(now), hospital_id=hospital_id).count()
        )
        if counted != live:
            found.append(f"hospital {hospital_id}: counters {counted} != recount {live}")
    return found
