"""Stock lots: receiving with default expiry, and marking expired lots."""

import datetime
import secrets

from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from accounts.activity import Action, record
from accounts.models import User
from bloodbank import compatibility
from bloodbank.models import BloodBank, Component, StockLot
from bloodbank.topics import stock_changed
from hms.api.exceptions import Conflict

# Sanity bounds on lot dates: nothing is collected, or keeps, longer than this (frozen plasma keeps
# for a few years at most).
MAX_LOT_AGE = datetime.timedelta(days=3653)


def _new_lot_number(collected_on: datetime.date) -> str:
    return f"L{collected_on:%Y%m%d}-{secrets.token_hex(4).upper()}"


def lot_dates(
    *, component: str, collected_on: datetime.date | None, expires_on: datetime.date | None, today: datetime.date
) -> tuple[datetime.date, datetime.date]:
    """Default and check a lot's dates (API.md section 14); a bad date is a 400 naming the field."""
    collected_on = collected_on or today
    if collected_on > today:
        raise ValidationError({"collected_on": ["A lot cannot be collected in the future."]}, code="invalid")
    if collected_on < today - MAX_LOT_AGE:
        raise ValidationError({"collected_on": ["A lot cannot be collected more than 10 years ago."]}, code="invalid")
    if expires_on is not None and expires_on > collected_on + MAX_LOT_AGE:
        raise ValidationError(
            {"expires_on": ["A lot cannot keep for more than 10 years after collection."]}, code="invalid"
        )
    if expires_on is None:
        expires_on = collected_on + datetime.timedelta(days=compatibility.SHELF_LIFE_DAYS[component])
    if expires_on <= collected_on:
        raise ValidationError({"expires_on": ["The expiry date must be after the collection date."]}, code="invalid")
    if expires_on <= today:
        raise ValidationError({"expires_on": ["This lot has already expired."]}, code="expired")
    return collected_on, expires_on


def lot_create(
    *,
    bank: BloodBank,
    blood_group: str,
    component: str,
    units: int,
    collected_on: datetime.date | None,
    expires_on: datetime.date | None,
    lot_number: str,
) -> StockLot:
    """Check and create a lot; the caller holds the transaction (stock_add, donation_record)."""
    collected_on, expires_on = lot_dates(
        component=component, collected_on=collected_on, expires_on=expires_on, today=timezone.localdate()
    )
    if not bank.is_active:
        raise Conflict("This blood bank is deactivated and takes no stock.", code="inactive")
    lot_number = lot_number or _new_lot_number(collected_on)
    if StockLot.objects.filter(blood_bank=bank, lot_number=lot_number).exists():
        raise Conflict(f"Lot number '{lot_number}' already exists in this blood bank.", code="unique")
    # The unique constraint still decides under concurrency: a racing duplicate becomes a 409.
    lot = StockLot.objects.create(
        blood_bank=bank,
        blood_group=blood_group,
        component=component,
        units=units,
        initial_units=units,
        collected_on=collected_on,
        expires_on=expires_on,
        lot_number=lot_number,
    )
    stock_changed(bank_id=bank.pk)
    return lot


@transaction.atomic
def stock_add(
    *,
    by: User,
    bank: BloodBank,
    blood_group: str,
    component: str = Component.WHOLE_BLOOD,
    units: int,
    collected_on: datetime.date | None = None,
    expires_on: datetime.date | None = None,
    lot_number: str = "",
) -> StockLot:
    """Receive a lot into a bank; expiry defaults to collection + the component's shelf life."""
    lot = lot_create(
        bank=bank,
        blood_group=blood_group,
        component=component,
        units=units,
        collected_on=collected_on,
        expires_on=expires_on,
        lot_number=lot_number,
    )
    record(
        action=Action.CREATE,
        actor=by,
        object_type="stock_lot",
        object_id=lot.pk,
        detail={"blood_bank_id": bank.pk, "units": units},
    )
    return lot


def stock_expire(*, today: datetime.date | None = None) -> int:
    """Mark available lots whose expiry date has come as expired; returns how many were marked."""
    today = today or timezone.localdate()
    with transaction.atomic():
        # Lock in pk order, like every other writer of lots, so this never deadlocks with a cancel.
        lots = list(
            StockLot.objects.select_for_update()
            .filter(status=StockLot.Status.AVAILABLE, expires_on__lte=today)
            .order_by("pk")
            .values_list("pk", "blood_bank_id")
        )
        expired = StockLot.objects.filter(pk__in=[pk for pk, _bank in lots]).update(status=StockLot.Status.EXPIRED)
        for bank_id in sorted({bank for _pk, bank in lots}):
            stock_changed(bank_id=bank_id)
        return expired
