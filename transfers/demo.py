"""The demo referral, called by the seed_demo command. Idempotent: running it again changes nothing."""

from django.db import transaction

from accounts.models import User
from hospitals.models import BedType, Hospital
from transfers.models import Referral
from transfers.services import referral_request

DEMO_REASON = "Demo referral: needs ICU monitoring after a cardiac event."


@transaction.atomic
def seed_transfers(*, hospitals: list[Hospital], patient: User | None, by: User, stdout=None) -> Referral | None:
    """One requested referral of the demo patient from the first demo hospital to the second, once."""
    if patient is None or patient.role != User.Role.USER or len(hospitals) < 2:
        return None
    existing = Referral.objects.filter(patient=patient, reason=DEMO_REASON).first()
    if existing is not None:
        return existing
    if Referral.objects.filter(patient=patient, status__in=Referral.OPEN_STATUSES).exists():
        return None  # the demo patient is already being referred: leave it alone
    referral = referral_request(
        by=by,
        patient=patient,
        from_hospital=hospitals[0],
        to_hospital=hospitals[1],
        reason=DEMO_REASON,
        urgency="urgent",
        bed_type=BedType.ICU,
    )
    if stdout is not None:
        stdout.write(f"  referral {referral.pk}: {hospitals[0].name} -> {hospitals[1].name} (requested)")
    return referral
