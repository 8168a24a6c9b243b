"""Donations: the whole-blood interval, eligibility, and recording a donation as a stock lot."""

import datetime

from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import PermissionDenied, ValidationError

from accounts.activity import Action, record_row
from accounts.models import User
from bloodbank.models import BloodBank, Component, Donation
from bloodbank.services.stock import MAX_LOT_AGE, lot_create
from hms.api.exceptions import Conflict
from hospitals.access import manages_hospital

WHOLE_BLOOD_DONATION_INTERVAL_DAYS = 56


def _whole_blood_dates(donor: User):
    """The dates the donor gave whole blood, latest first."""
    return (
        Donation.objects.filter(donor=donor, component=Component.WHOLE_BLOOD)
        .order_by("-donated_on")
        .values_list("donated_on", flat=True)
    )


def last_whole_blood_donation(*, donor: User) -> datetime.date | None:
    return _whole_blood_dates(donor).first()


def donor_eligibility(*, donor: User, today: datetime.date | None = None) -> dict:
    """Whole blood: at least 56 days between donations. Never donated: eligible from today."""
    today = today or timezone.localdate()
    last = last_whole_blood_donation(donor=donor)
    next_eligible_on = today
    if last is not None:
        next_eligible_on = max(today, last + datetime.timedelta(days=WHOLE_BLOOD_DONATION_INTERVAL_DAYS))
    return {"eligible": next_eligible_on <= today, "last_donation": last, "next_eligible_on": next_eligible_on}


@transaction.atomic
def donation_record(
    *,
    by: User,
    donor: User,
    bank: BloodBank,
    component: str = Component.WHOLE_BLOOD,
    units: int = 1,
    blood_group: str = "",
    donated_on: datetime.date | None = None,
    expires_on: datetime.date | None = None,
    lot_number: str = "",
) -> Donation:
    """Record a donation and receive it as a stock lot of the bank, in one transaction."""
    if not manages_hospital(by, bank.hospital_id):
        raise PermissionDenied("Only the managers of this blood bank may record its donations.")
    today = timezone.localdate()
    donated_on = donated_on or today
    if donated_on > today:
        raise ValidationError({"donated_on": ["A donation cannot be recorded in the future."]}, code="invalid")
    if donated_on < today - MAX_LOT_AGE:
        raise ValidationError({"donated_on": ["A donation cannot be more than 10 years old."]}, code="invalid")
    blood_group = blood_group or donor.blood_group
    if not blood_group:
        raise ValidationError(
            {"blood_group": ["The donor has no blood group on record; give the typed group."]}, code="required"
        )
    # Serialise donations of one donor, so two recordings cannot both pass the interval check.
    User.objects.select_for_update().filter(pk=donor.pk).first()
    if component == Component.WHOLE_BLOOD:
        window = datetime.timedelta(days=WHOLE_BLOOD_DONATION_INTERVAL_DAYS - 1)
        clash = (
            _whole_blood_dates(donor)
            .filter(donated_on__gte=donated_on - window, donated_on__lte=donated_on + window)
            .first()
        )
        if clash is not None:
            raise Conflict(
                f"The donor gave whole blood on {clash.isoformat()}; whole-blood donations must be at least "
                f"{WHOLE_BLOOD_DONATION_INTERVAL_DAYS} days apart.",
                code="donation_too_soon",
            )
    try:
        lot = lot_create(
            bank=bank,
            blood_group=blood_group,
            component=component,
            units=units,
            collected_on=donated_on,
            expires_on=expires_on,
            lot_number=lot_number,
        )
    except ValidationError as exc:
        # The lot's collection date is the donation date: name the field the caller sent.
        if isinstance(exc.detail, dict) and "collected_on" in exc.detail:
            raise ValidationError({"donated_on": exc.detail["collected_on"]}, code="invalid") from exc
        if isinstance(exc.detail, dict) and "expires_on" in exc.detail and expires_on is None:
            raise ValidationError(
                {"donated_on": ["A donation this old would already have expired as stock."]}, code="expired"
            ) from exc
        raise
    donation = Donation.objects.create(
        donor=donor,
        blood_bank=bank,
        donated_on=donated_on,
        blood_group=blood_group,
        component=component,
        units=units,
        lot=lot,
        recorded_by=by,
    )
    record_row(
        Action.CREATE,
        donation,
        by=by,
        object_type="donation",
        patient_field="donor_id",
        detail={"blood_bank_id": bank.pk, "lot_id": lot.pk},
    )
    return donation
