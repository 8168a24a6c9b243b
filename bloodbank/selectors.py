"""Non-trivial reads: the usable-stock summary of a bank, the unfiltered bank list."""

from django.conf import settings
from django.db import connections, router
from django.utils import timezone
from django.utils.dateparse import parse_date

from accounts.models import BloodGroup
from bloodbank.models import BloodBank, Component, StockLot
from bloodbank.serializers import BLOOD_BANK_FIELDS, BloodBankOut
from bloodbank.topics import bank_topic, stock_topic
from hms.api import readcache
from hms.api.compiled import cursor_for
from hms.api.rawrows import ModelRows, Representation

_GROUP_ORDER = {value: index for index, value in enumerate(BloodGroup.values)}
_COMPONENT_ORDER = {value: index for index, value in enumerate(Component.values)}
_SQL: dict[tuple[str, bool], str] = {}
_BANK_ROWS = ModelRows(BloodBank, BLOOD_BANK_FIELDS)
_BANK_OUT = Representation(BloodBankOut, BLOOD_BANK_FIELDS, {"distance_km": None})


def bank_page(*, active_only: bool, limit: int, offset: int) -> tuple[int | None, list[dict]]:
    """`(count, rows)` of the bank list with no filter (BloodBankOut's rows, by id), in one query.
    `count` is None when the page holds no row."""
    count, rows = _BANK_ROWS.page(true_field="is_active" if active_only else None, limit=limit, offset=offset)
    return count, [_BANK_OUT(row) for row in rows]


def _stock_sql(connection, *, active_only: bool) -> str:
    """`StockLot.objects.usable(today)` of one bank summed per group and component, as one hand-written
    statement (the ORM spends longer building it than the database answering it). Parameters: today,
    bank id. From the bank row (LEFT JOIN its usable lots): no row when the bank is not seen (absent, or
    deactivated with `active_only`), one row of NULLs when it is but holds no usable lot."""
    quote = connection.ops.quote_name
    bank, lot = BloodBank._meta, StockLot._meta

    def column(meta, name: str) -> str:
        return f"{quote(meta.db_table)}.{quote(meta.get_field(name).column)}"

    sql = (
        f"SELECT {column(lot, 'blood_group')}, {column(lot, 'component')}, SUM({column(lot, 'units')}), "  # noqa: S608 - names from _meta
        f"COUNT({column(lot, 'id')}), MIN({column(lot, 'expires_on')}) FROM {quote(bank.db_table)} "
        f"LEFT OUTER JOIN {quote(lot.db_table)} ON {column(lot, 'blood_bank')} = {column(bank, 'id')} "
        f"AND {column(lot, 'status')} = '{StockLot.Status.AVAILABLE}' AND {column(lot, 'expires_on')} > %s "
        f"AND {column(lot, 'units')} > 0 "
        f"WHERE {column(bank, 'id')} = %s"
    )
    if active_only:
        sql += f" AND {column(bank, 'is_active')}"
    return sql + " GROUP BY 1, 2"


def _usable_stock_rows(bank_id: int, active_only: bool, today) -> list | None:
    alias = router.db_for_read(StockLot)
    connection = connections[alias]
    key = (connection.vendor, active_only)
    sql = _SQL.get(key)
    if sql is None:
        sql = _SQL[key] = _stock_sql(connection, active_only=active_only)
    # On PostgreSQL a prepared statement: planned once per connection, not on every read.
    with cursor_for(alias) as cursor:
        cursor.execute(sql, [connection.ops.adapt_datefield_value(today), bank_id])
        found = cursor.fetchall()
    if not found:
        return None
    # SQLite answers dates as text.
    return [
        (group, component, units, lots, parse_date(expiry) if isinstance(expiry, str) else expiry)
        for group, component, units, lots, expiry in found
        if lots
    ]


def stock_summary(*, bank_id: int, active_only: bool, cache_scope: str = "") -> dict | None:
    """Usable units, lot count and next expiry per group and component, in one aggregate query.

    `active_only`: the caller sees active banks only (everyone but administrators); None when the bank
    is not seen. The aggregate itself checks that, in the same query. With `cache_scope` (a name for
    that visibility), the rows are kept on the shared cache until the next committed write or the end
    of the day, whichever comes first (READ_CACHE_SECONDS, hms.api.readcache).
    """
    today = timezone.localdate()
    rows = readcache.cached(
        f"hms:stock:{cache_scope}:{today.isoformat()}:{bank_id}",
        lambda: _usable_stock_rows(bank_id, active_only, today),
        seconds=settings.READ_CACHE_SECONDS if cache_scope else 0,
        topics=[stock_topic(bank_id), bank_topic(bank_id)],
    )
    if rows is None:
        return None
    rows.sort(key=lambda row: (_GROUP_ORDER[row[0]], _COMPONENT_ORDER[row[1]]))
    # Exactly StockSummaryOut's shape (the JSON renderer writes dates as ISO 8601), without a
    # serializer pass per item.
    items = [
        {"blood_group": group, "component": component, "units": units, "lots": lots, "next_expiry": next_expiry}
        for group, component, units, lots, next_expiry in rows
    ]
    return {"blood_bank_id": bank_id, "as_of": timezone.now(), "items": items}
