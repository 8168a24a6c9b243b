"""The bed counts of one hospital (and, for its detail, the hospital row) in one hand-written statement.

The ORM spends more time building that GROUP BY than the database spends answering it, on the hottest
read there is (availability, the detail's `bed_summary`, every bed change's feed event). The rule is
`hospitals.models.shown_status` (a reservation whose `until` has passed shows as available); `next
lapse` is the earliest `reserved_until` still ahead. hospitals/tests/test_fast_reads.py holds the
answers to a row-by-row reference on random data. Portable SQL: PostgreSQL and SQLite (`make run`);
on PostgreSQL prepared (hms.api.db), so the database plans it once per connection.
"""

from datetime import UTC, datetime

from django.db import connections, router
from django.utils.dateparse import parse_datetime

from hms.api.db import prepared_cursor
from hms.api.rawrows import ModelRows
from hospitals.models import Bed, BedStatus, Hospital, Ward

_HOSPITAL_ROWS = ModelRows(Hospital, [field.name for field in Hospital._meta.concrete_fields])
_SQL: dict[tuple[str, bool, bool], str] = {}


def _sql(connection, *, active_only: bool, with_hospital: bool) -> str:
    """Parameters: now, now, hospital id, hospital id (with `with_hospital`: the hospital id, now, now,
    hospital id).

    Rows: ward type, bed type, shown status, count, next lapse. Without `with_hospital`, its beds
    grouped, gated by one EXISTS on the hospital row (evaluated once, before any bed is read): none
    when the hospital is not seen (absent, or deactivated with `active_only`), one counting 0 when it
    has no beds (a LEFT JOIN from one constant row). With `with_hospital`, the hospital's row
    (NULL counts, then its columns) UNION ALL its beds' rows (NULL hospital columns): each value is
    read once, not once per group. A bed's ward is looked up among its hospital's wards (a bed's
    `hospital` is its ward's, Bed's docstring), so PostgreSQL hashes that hospital's few wards (index
    on the ward's hospital) instead of reading every ward of every hospital: flat with the data."""
    quote = connection.ops.quote_name
    bed, ward, hospital = (model._meta for model in (Bed, Ward, Hospital))

    def column(meta, name: str) -> str:
        return f"{quote(meta.db_table)}.{quote(meta.get_field(name).column)}"

    status, reserved_until, bed_hospital = column(bed, "status"), column(bed, "reserved_until"), column(bed, "hospital")
    counts = (
        f"SELECT {column(ward, 'ward_type')}, {column(bed, 'bed_type')}, "
        f"CASE WHEN {status} = '{BedStatus.RESERVED}' AND {reserved_until} <= %s "
        f"THEN '{BedStatus.AVAILABLE}' ELSE {status} END, COUNT({column(bed, 'id')}), "
        f"MIN(CASE WHEN {reserved_until} > %s THEN {reserved_until} END)"
    )
    beds = (
        f"{quote(bed.db_table)} INNER JOIN {quote(ward.db_table)} ON {column(bed, 'ward')} = {column(ward, 'id')} "
        f"AND {column(ward, 'hospital')} = {bed_hospital}"
    )
    seen = f" AND {column(hospital, 'is_active')}" if active_only else ""
    if not with_hospital:
        return (
            f"{counts} FROM (SELECT 1) AS one LEFT OUTER JOIN ({beds}) ON {bed_hospital} = %s "  # noqa: S608 - names from _meta
            f"WHERE EXISTS (SELECT 1 FROM {quote(hospital.db_table)} WHERE {column(hospital, 'id')} = %s{seen}) "
            "GROUP BY 1, 2, 3"
        )
    nulls = len(_HOSPITAL_ROWS.field_names)
    return (
        f"SELECT NULL, NULL, NULL, NULL, NULL, {_HOSPITAL_ROWS.select_list(connection)} "  # noqa: S608 - names from _meta
        f"FROM {quote(hospital.db_table)} WHERE {column(hospital, 'id')} = %s{seen} "
        f"UNION ALL {counts}{', NULL' * nulls} FROM {beds} WHERE {bed_hospital} = %s GROUP BY 1, 2, 3"
    )


def _as_datetime(value):
    """A `reserved_until` read by a raw cursor: SQLite answers text (naive UTC, as Django stores it)."""
    if isinstance(value, str):
        value = parse_datetime(value)
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value
    return value


def hospital_bed_counts(hospital_id: int, *, active_only: bool, now: datetime, with_hospital: bool = False):
    """`(ward_type, bed_type, shown status, count, next lapse)` rows of one hospital: [] when it is not
    seen. With `with_hospital`: `(Hospital or None, rows)`."""
    alias = router.db_for_read(Bed if not with_hospital else Hospital)
    connection = connections[alias]
    key = (connection.vendor, active_only, with_hospital)
    sql = _SQL.get(key)
    if sql is None:
        sql = _SQL[key] = _sql(connection, active_only=active_only, with_hospital=with_hospital)
    moment = connection.ops.adapt_datetimefield_value(now)
    # On PostgreSQL a prepared statement: planned once per connection, not on every read.
    with prepared_cursor(alias) if connection.vendor == "postgresql" else connection.cursor() as cursor:
        params = (
            [hospital_id, moment, moment, hospital_id] if with_hospital else [moment, moment, hospital_id, hospital_id]
        )
        cursor.execute(sql, params)
        found = cursor.fetchall()
    if not with_hospital:
        return [(row[0], row[1], row[2], row[3], _as_datetime(row[4])) for row in found]
    hospital, rows = None, []
    for row in found:
        if row[5] is not None:  # the hospital's own row (its id)
            hospital = _HOSPITAL_ROWS.instance(connection, row[5:])
        else:
            rows.append((row[0], row[1], row[2], row[3], _as_datetime(row[4])))
    return hospital, rows
