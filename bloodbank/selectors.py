"""Non-trivial reads: the usable-stock summary of a bank."""

from django.conf import settings
from django.db.models import Count, Min, Sum
from django.utils import timezone

from accounts.models import BloodGroup
from bloodbank.models import Component, StockLot
from bloodbank.topics import bank_topic, stock_topic
from hms.api import readcache

_GROUP_ORDER = {value: index for index, value in enumerate(BloodGroup.values)}
_COMPONENT_ORDER = {value: index for index, value in enumerate(Component.values)}


def _usable_stock_rows(bank_id: int, banks, today) -> list | None:
    visible = banks().filter(pk=bank_id)
    rows = list(
        StockLot.objects.usable(today)
        .filter(blood_bank__in=visible.values("pk"))
        .order_by()
        .values_list("blood_group", "component")
        .annotate(units=Sum("units"), lots=Count("id"), next_expiry=Min("expires_on"))
    )
    if not rows and not visible.exists():
        return None
    return rows


def stock_summary(*, bank_id: int, banks, cache_scope: str = "") -> dict | None:
    """Usable units, lot count and next expiry per group and component, in one aggregate query.

    `banks` gives the blood banks the caller may see (a function, called only when the rows are not on
    the cache): None when bank_id is not among them. The
    aggregate itself checks that (a bank with usable stock costs one query; an empty or hidden one
    a second, to tell the two apart). With `cache_scope` (a name for that visibility), the rows are
    kept on the shared cache until the next committed write or the end of the day, whichever comes
    first (READ_CACHE_SECONDS, hms.api.readcache).
    """
    today = timezone.localdate()
    rows = readcache.cached(
        f"hms:stock:{cache_scope}:{today.isoformat()}:{bank_id}",
        lambda: _usable_stock_rows(bank_id, banks, today),
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
