"""Non-trivial reads: the usable-stock summary of a bank."""

from django.db.models import Count, Min, Sum
from django.utils import timezone

from accounts.models import BloodGroup
from bloodbank.models import BloodBank, Component, StockLot

_GROUP_ORDER = {value: index for index, value in enumerate(BloodGroup.values)}
_COMPONENT_ORDER = {value: index for index, value in enumerate(Component.values)}


def stock_summary(*, bank: BloodBank) -> dict:
    """Usable units, lot count and next expiry per group and component, in one aggregate query."""
    today = timezone.localdate()
    rows = (
        StockLot.objects.usable(today)
        .filter(blood_bank=bank)
        .order_by()
        .values("blood_group", "component")
        .annotate(units=Sum("units"), lots=Count("id"), next_expiry=Min("expires_on"))
    )
    items = sorted(rows, key=lambda row: (_GROUP_ORDER[row["blood_group"]], _COMPONENT_ORDER[row["component"]]))
    return {"blood_bank_id": bank.pk, "as_of": timezone.now(), "items": items}
