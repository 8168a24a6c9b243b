# ruff: noqa: S608 - every statement here is built from this module's constant table and column names
"""Maintained counters for the admin and hospital-admin dashboards (PostgreSQL only).

Each counted table has a row trigger that appends the change of its rows' contribution as signed deltas
(-old, +new) to `dashboard_counterdelta`, in the transaction that makes the change: the API, the Django
admin, management commands, bulk `update()`s and COPY all pass through it. A delta row goes to scope 0
(the network, read by the admin dashboard) and to the row's hospital (blood: its bank). Nothing is
updated in place, so concurrent bookings never queue on a shared counter row. `fold()` sums the deltas
into `dashboard_countersbase` (one row per metric, scope, bucket and key) and drops buckets no reader
will ask for again; `rebuild()` recounts everything from the tables.

Figures that depend on the clock are kept by bucket and chosen at read time: appointments by their
slot's 15-minute start bucket ("today" in any zone is a whole number of buckets); blood both in all
(bucket 0) and by expiry day, usable = all minus what expired by today (a handful of rows: the expiry
job marks expired lots, which takes them off both). A lapsed bed reservation is counted live (few beds are
reserved; `reserved_until` is indexed).
"""

from dataclasses import dataclass

from django.db import connection, transaction

from bloodbank.models import StockLot
from emergency.models import Emergency

BUCKET_SECONDS = 900
DELTA = "dashboard_counterdelta"
BASE = "dashboard_counterbase"
FOLD_LOCK = 0x44415348  # pg advisory lock key: one fold at a time ("DASH")
KEEP_PAST_DAYS = 3  # buckets older than this are never "today" in any zone


@dataclass(frozen=True)
class Counted:
    """How one table's row contributes: to `metric`, when `when` holds, `n` under `key` in `bucket`.
    `{r}` stands for the row (OLD or NEW in a trigger, the table's alias in a recount)."""

    metric: str
    table: str
    fields: tuple[str, ...]  # the columns whose change may change the contribution
    scope: str
    key: str
    when: str = "TRUE"
    buckets: tuple[str, ...] = ("0",)  # the row counts once in each
    n: str = "1"


def _slot_bucket(start: str) -> str:
    return f"(floor(extract(epoch FROM {start}) / {BUCKET_SECONDS}) * {BUCKET_SECONDS})::bigint"


def _quoted(values) -> str:
    return ", ".join(f"'{value}'" for value in values)


_CLOSED = _quoted([Emergency.Status.RESOLVED, Emergency.Status.CANCELLED])
COUNTED = [
    Counted(
        "users", "accounts_user", ("is_active", "hospital_id", "role"), "{r}.hospital_id", "{r}.role", "{r}.is_active"
    ),
    Counted("beds", "hospitals_bed", ("status", "hospital_id"), "{r}.hospital_id", "{r}.status"),
    Counted(
        "appointments",
        "appointments_appointment",
        ("status", "hospital_id", "slot_id"),
        "{r}.hospital_id",
        "{r}.status",
        buckets=(
            "COALESCE((SELECT " + _slot_bucket("s.start") + " FROM appointments_slot s WHERE s.id = {r}.slot_id), 0)",
        ),
    ),
    Counted(
        "blood",
        "bloodbank_stocklot",
        ("status", "blood_bank_id", "blood_group", "units", "expires_on"),
        "{r}.blood_bank_id",
        "{r}.blood_group",
        when=f"{{r}}.status = '{StockLot.Status.AVAILABLE}' AND {{r}}.units > 0",
        # All usable units (bucket 0) and the same by expiry day: usable today = all - expired by today.
        buckets=("0", "({r}.expires_on - DATE '1970-01-01')"),
        n="{r}.units",
    ),
    Counted(
        "emergencies",
        "emergency_emergency",
        ("status", "hospital_id", "severity"),
        "{r}.hospital_id",
        "{r}.severity",
        when=f"{{r}}.status NOT IN ({_CLOSED})",
    ),
    Counted("ambulances", "emergency_ambulance", ("status", "hospital_id"), "{r}.hospital_id", "{r}.status"),
]


def _contribution(counted: Counted, row: str, sign: str = "", *, recount: bool = False) -> str:
    """SELECT of the row's signed contribution to the network (scope 0) and to its own scope, in each of
    its buckets; with `recount`, the summed contributions of every row of the table."""
    part = {name: getattr(counted, name).format(r=row) for name in ("scope", "key", "n", "when")}
    buckets = ", ".join(f"({bucket.format(r=row)})" for bucket in counted.buckets)
    n, source = (
        (f"SUM({part['n']})", f"{counted.table} {row} CROSS JOIN LATERAL ") if recount else (f"{sign}({part['n']})", "")
    )
    select = (
        f"SELECT '{counted.metric}', s.scope, b.bucket, {part['key']}, {n} "
        f"FROM {source}(VALUES (0), ({part['scope']})) AS s(scope) CROSS JOIN LATERAL (VALUES {buckets}) AS b(bucket) "
        "WHERE s.scope IS NOT NULL"
    )
    return f"{select} AND ({part['when']}) GROUP BY 1, 2, 3, 4" if recount else select


def _trigger_sql(counted: Counted) -> str:
    function = f"dashboard_count_{counted.metric}"
    insert = f"INSERT INTO {DELTA} (metric, scope, bucket, key, n) "
    changed = ", ".join(f"OLD.{field}" for field in counted.fields), ", ".join(f"NEW.{f}" for f in counted.fields)
    return f"""
CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND ({counted.when.format(r="OLD")}) THEN
        {insert}{_contribution(counted, "OLD", "-")};
    END IF;
    IF TG_OP <> 'DELETE' AND ({counted.when.format(r="NEW")}) THEN
        {insert}{_contribution(counted, "NEW", "")};
    END IF;
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS dashboard_count_write ON {counted.table};
CREATE TRIGGER dashboard_count_write AFTER INSERT OR DELETE ON {counted.table}
    FOR EACH ROW EXECUTE FUNCTION {function}();
DROP TRIGGER IF EXISTS dashboard_count_change ON {counted.table};
CREATE TRIGGER dashboard_count_change AFTER UPDATE ON {counted.table}
    FOR EACH ROW WHEN (ROW({changed[0]}) IS DISTINCT FROM ROW({changed[1]})) EXECUTE FUNCTION {function}();
"""


# A slot whose start moves (no API does this; the Django admin might) takes its appointments' counts along.
SLOT_MOVED_SQL = f"""
CREATE OR REPLACE FUNCTION dashboard_count_slot_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {DELTA} (metric, scope, bucket, key, n)
    SELECT 'appointments', s.scope, b.bucket, a.status, b.sign * COUNT(*)
    FROM appointments_appointment a
    CROSS JOIN LATERAL (VALUES (0), (a.hospital_id)) AS s(scope)
    CROSS JOIN (VALUES ({_slot_bucket("OLD.start")}, -1), ({_slot_bucket("NEW.start")}, 1)) AS b(bucket, sign)
    WHERE a.slot_id = NEW.id
    GROUP BY s.scope, b.bucket, b.sign, a.status;
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS dashboard_count_slot_moved ON appointments_slot;
CREATE TRIGGER dashboard_count_slot_moved AFTER UPDATE ON appointments_slot
    FOR EACH ROW WHEN ({_slot_bucket("OLD.start")} IS DISTINCT FROM {_slot_bucket("NEW.start")})
    EXECUTE FUNCTION dashboard_count_slot_moved();
"""


def install_sql() -> str:
    return "\n".join([*(_trigger_sql(counted) for counted in COUNTED), SLOT_MOVED_SQL])


def uninstall_sql() -> str:
    statements = []
    for counted in COUNTED:
        statements += [
            f"DROP TRIGGER IF EXISTS dashboard_count_write ON {counted.table};",
            f"DROP TRIGGER IF EXISTS dashboard_count_change ON {counted.table};",
            f"DROP FUNCTION IF EXISTS dashboard_count_{counted.metric}();",
        ]
    statements += [
        "DROP TRIGGER IF EXISTS dashboard_count_slot_moved ON appointments_slot;",
        "DROP FUNCTION IF EXISTS dashboard_count_slot_moved();",
    ]
    return "\n".join(statements)


def _recount_sql(counted: Counted) -> str:
    return f"INSERT INTO {BASE} (metric, scope, bucket, key, n) {_contribution(counted, 'r', recount=True)}"


def rebuild(using=connection) -> None:
    """Recount every counter from the tables. The tables are locked against writes (SHARE mode) while
    it runs, so no change lands between the recount and the emptied deltas."""
    tables = ", ".join([*(counted.table for counted in COUNTED), "appointments_slot"])
    with transaction.atomic(using=using.alias), using.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {tables} IN SHARE MODE")
        cursor.execute(f"LOCK TABLE {DELTA}, {BASE} IN EXCLUSIVE MODE")
        cursor.execute(f"DELETE FROM {DELTA}")
        cursor.execute(f"DELETE FROM {BASE}")
        for counted in COUNTED:
            cursor.execute(_recount_sql(counted))
        cursor.execute(f"ANALYZE {BASE}")  # fresh statistics: the read's plan depends on the rows' spread


FOLD_SQL = f"""
WITH moved AS (DELETE FROM {DELTA} RETURNING metric, scope, bucket, key, n)
INSERT INTO {BASE} (metric, scope, bucket, key, n)
SELECT metric, scope, bucket, key, SUM(n) FROM moved GROUP BY metric, scope, bucket, key
ON CONFLICT (metric, scope, bucket, key) DO UPDATE SET n = {BASE}.n + EXCLUDED.n
"""


def fold(*, now_epoch: int) -> dict:
    """Move the deltas into the base rows; drop rows that sum to zero and buckets no reader asks for
    again (appointments that started days ago). One fold at a time; a
    second one meanwhile returns at once (the first does its work)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [FOLD_LOCK])
        if not cursor.fetchone()[0]:
            return {"skipped": "another fold is running"}
        cursor.execute(FOLD_SQL)
        folded = cursor.rowcount
        cursor.execute(
            f"DELETE FROM {BASE} WHERE n = 0 OR (metric = 'appointments' AND bucket < %s)",
            [now_epoch - KEEP_PAST_DAYS * 86400],
        )
        return {"folded": folded, "dropped": cursor.rowcount}
