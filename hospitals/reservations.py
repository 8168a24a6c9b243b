"""Bed reservations: hold a free bed for one patient until a time (API.md section 19).

A reservation lapses at its `until` whether or not anything runs then: readers count a lapsed
reservation as an available bed (hospitals.models.shown_status), and the writers (these services,
admission and transfer in hospitals.services) treat it so under the bed's row lock. Reserving and
admitting both lock the bed row first, so a reservation for one patient and an admission of another
racing for one bed are served one after the other: exactly one of them gets it.
"""

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import PermissionDenied, ValidationError

from accounts.models import User
from hms.api.exceptions import Conflict
from hospitals.access import operates_beds_of
from hospitals.models import MAX_RESERVATION, Bed, BedStatus
from hospitals.services import lock_bed, record_bed_operation, save_bed, unavailable_bed_code


def check_reservation_until(until: datetime, now: datetime | None = None) -> None:
    """`until` is in the future and at most MAX_RESERVATION ahead (400 on `until`)."""
    now = now or timezone.now()
    if until <= now:
        raise ValidationError({"until": ["A reservation must end in the future."]}, code="until_not_future")
    if until > now + MAX_RESERVATION:
        raise ValidationError(
            {"until": [f"A reservation may hold a bed for at most {MAX_RESERVATION.days} days."]},
            code="until_too_far",
        )


def _require_operator(by: User, bed: Bed) -> None:
    if not operates_beds_of(by, bed.hospital_id):
        raise PermissionDenied("Only an administrator, or this hospital's admin or doctors, may reserve beds.")


@transaction.atomic
def bed_reserve(*, by: User, bed: Bed, patient: User, until: datetime, reason: str = "") -> Bed:
    """Hold an available bed (or one whose reservation has lapsed) for `patient` until `until`."""
    _require_operator(by, bed)
    now = timezone.now()
    check_reservation_until(until, now)
    bed = lock_bed(bed.pk)
    if bed.shown_status_at(now) != BedStatus.AVAILABLE:
        raise Conflict(
            f"This bed is {bed.status}; only an available bed can be reserved.", code=unavailable_bed_code(bed)
        )
    bed.status = BedStatus.RESERVED
    bed.reserved_for, bed.reserved_until, bed.reservation_reason = patient, until, reason
    save_bed(bed)
    record_bed_operation(bed, by=by, patient_id=patient.pk, detail={"operation": "reserve", "until": until.isoformat()})
    return bed


@transaction.atomic
def bed_release(*, by: User, bed: Bed) -> Bed:
    """End the bed's reservation (for a patient, or the manual `reserved` status): the bed is available."""
    _require_operator(by, bed)
    bed = lock_bed(bed.pk)
    if bed.shown_status_at() != BedStatus.RESERVED:
        raise Conflict("This bed holds no reservation (or it has lapsed).", code="not_reserved")
    _end_reservation(bed, by=by, patient_id=bed.reserved_for_id)
    return bed


@transaction.atomic
def reservation_end_for(*, by: User, bed_id: int, patient_id: int, detail: dict | None = None) -> bool:
    """End the bed's reservation if it is (still, lapsed or not) held for `patient_id`; False when it is not.

    For a workflow that has decided itself who may act (a referral cancelled by the origin's staff frees
    the bed it reserved at the destination). A bed whose reservation lapsed and was taken since is left alone.
    """
    bed = lock_bed(bed_id)
    if bed.status != BedStatus.RESERVED or bed.reserved_for_id != patient_id:
        return False
    _end_reservation(bed, by=by, patient_id=patient_id, detail=detail)
    return True


def _end_reservation(bed: Bed, *, by: User, patient_id: int | None, detail: dict | None = None) -> None:
    """The locked bed becomes available, its reservation cleared, announced and audited as a release."""
    bed.status = BedStatus.AVAILABLE
    bed.clear_reservation()
    save_bed(bed)
    record_bed_operation(bed, by=by, patient_id=patient_id, detail={"operation": "release", **(detail or {})})
