"""Non-trivial reads: the usable-stock summary of a bank."""

from django.db.models import Count, Min, Sum
from django.utils import timezone

from accounts.models import BloodGroup
from bloodbank.models import Component, StockLot

_GROUP_ORDER = {value: index for index, value in enumerate(BloodGroup.values)}
_COMPONENT_ORDER = {value: index for index, value in enumerate(Component.values)}


def stock_summary(*, bank_id: int, banks) -> dict | None:
    """Usable units, lot count and next expiry per group and component, in one aggregate query.

    `banks` are the blood banks the caller may see: None when bank_id is not among them. The
    aggregate itself checks that (a bank with usable stock costs one query; an empty or hidden one
    a second, to tell the two apart).
    """
    today = timezone.localdate()
    visible = banks.filter(pk=bank_id)
    rows = list(
        StockLot.objects.usable(today)
        .filter(blood_bank__in=visible.values("pk"))
        .order_by()
        .values_list("blood_group", "component")
        .annotate(units=Sum("units"), lots=Count("id"), next_expiry=Min("expires_on"))
    )
    if not rows and not visible.exists():
        return None
    rows.sort(key=lambda row: (_GROUP_ORDER[row[0]], _COMPONENT_ORDER[row[1]]))
    # Exactly StockSummaryOut's shape (the JSON renderer writes dates as ISO 8601), without a
    # serializer pass per item.
    items = [
        {"blood_group": group, "component": component, "units": units, "lots": lots, "next_expiry": next_expiry}
        for group, component, units, lots, next_expiry in rows
    ]
    return {"blood_bank_id": bank_id, "as_of": timezone.now(), "items": items}
