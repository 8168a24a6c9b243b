"""Referral rules that write: one transaction each, the referral row locked first.

Lock order: the referral, then beds (in primary-key order, by the hospitals services), then the
patient's account, then the ambulance. Every step appends an event, an audit entry and a feed event
on the patient's own topic; bed changes emit the hospitals' `beds` topics through the hospitals services.
"""

from django.db import transaction
from django.utils import timezone
from rest_framework import serializers
from rest_framework.exceptions import NotFound, PermissionDenied

from accounts.activity import Action, record_row
from accounts.models import User
from emergency.ambulances import ambulance_free, ambulance_take
from emergency.models import Ambulance
from feed.emit import emit, snapshot
from feed.topics import user_topic
from hms.api.exceptions import Conflict
from hms.api.permissions import role_of
from hms.api.roles import Role
from hospitals.access import manages_hospital, operates_beds_of
from hospitals.models import Admission, Bed, Hospital
from hospitals.reservations import bed_reserve, reservation_end_for
from hospitals.services import bed_admit, discharge_from_bed
from transfers.models import BED_HOLD, Referral, ReferralEvent

Status = Referral.Status


def referral_state(referral: Referral) -> dict:
    """What the patient's `user.{id}` topic carries after each step."""
    return snapshot(
        referral, "referral_id", ("status", "from_hospital_id", "to_hospital_id", "reserved_bed_id", "ambulance_id")
    )


def _step_recorded(*, referral: Referral, by: User, note: str = "", action: str = Action.ACTION, **detail) -> None:
    """The event, the audit entry and the feed event of one step, in the step's transaction."""
    ReferralEvent.objects.create(referral=referral, status=referral.status, actor=by, note=note)
    record_row(action, referral, by=by, object_type="referral", detail={"status": referral.status, **detail})
    emit(user_topic(referral.patient_id), f"referral.{referral.status}", referral_state(referral))


def _lock(referral: Referral) -> Referral:
    return (
        Referral.objects.select_for_update(of=("self",))
        .select_related("patient", "from_hospital", "to_hospital")
        .get(pk=referral.pk)
    )


def _check_step(referral: Referral, target: str) -> None:
    if target not in Referral.TRANSITIONS[referral.status]:
        raise Conflict(f"A {referral.status} referral cannot become {target}.", code="illegal_transition")


def _move(referral: Referral, status: str, **fields) -> None:
    referral.status = status
    for name, value in fields.items():
        setattr(referral, name, value)
    referral.save(update_fields=["status", *fields, "updated_at"])


def _operates_either_side(by: User, referral: Referral) -> bool:
    return operates_beds_of(by, referral.from_hospital_id) or operates_beds_of(by, referral.to_hospital_id)


# Who may take each step (403 otherwise): the services ask, and the views ask first, before the body is read.


def referral_require_destination_admin(*, by: User, referral: Referral) -> None:
    """Accept and reject: an administrator or the destination hospital's admin."""
    if not manages_hospital(by, referral.to_hospital_id):
        raise PermissionDenied(
            "Only an administrator or the destination hospital's admin accepts or rejects a referral."
        )


def referral_require_destination_staff(*, by: User, referral: Referral) -> None:
    """Complete: an administrator, or the destination's admin or doctors."""
    if not operates_beds_of(by, referral.to_hospital_id):
        raise PermissionDenied("Only an administrator, or the destination's admin or doctors, complete a referral.")


def referral_require_either_side(*, by: User, referral: Referral) -> None:
    """Dispatch and cancel: an administrator, or either hospital's admin or doctors."""
    if not _operates_either_side(by, referral):
        raise PermissionDenied(
            "Only an administrator, or either hospital's admin or doctors, dispatch or cancel a transfer."
        )


def _step_begin(referral: Referral, *, by: User, who, target: str) -> Referral:
    """Every step starts alike: the row locked (first in the lock order), then who may take the step
    (`who`, one of the `referral_require_*` rules: 403), then whether the status may become `target` (409)."""
    referral = _lock(referral)
    who(by=by, referral=referral)
    _check_step(referral, target)
    return referral


# --- Request ----------------------------------------------------------------------------------


@transaction.atomic
def referral_request(
    *,
    by: User,
    patient: User,
    to_hospital: Hospital,
    reason: str,
    from_hospital: Hospital | None = None,
    urgency: str = "routine",
    bed_type: str = "general",
) -> Referral:
    """The origin's hospital admin or doctor (or an admin) refers a registered patient to another hospital.

    The patient need not be admitted at the origin (an outpatient can be referred); one admitted at a
    third hospital cannot be (409 `admitted_elsewhere`): only the origin's admission is closed on completion.
    """
    if from_hospital is None:
        if role_of(by) not in (Role.HOSPITAL_ADMIN, Role.DOCTOR) or by.hospital_id is None:
            raise serializers.ValidationError({"from_hospital_id": ["This field is required."]}, code="required")
        from_hospital = Hospital.objects.get(pk=by.hospital_id)
    if not operates_beds_of(by, from_hospital.pk):
        raise PermissionDenied("Only an administrator, or the origin hospital's admin or doctors, refer a patient.")
    if not from_hospital.is_active:
        raise serializers.ValidationError({"from_hospital_id": ["This hospital is deactivated."]}, code="inactive")
    if to_hospital.pk == from_hospital.pk:
        raise serializers.ValidationError(
            {"to_hospital_id": ["A referral goes to another hospital than the origin."]}, code="same_hospital"
        )
    # The patient's row lock serialises two referrals of one patient; the partial unique index is the backstop.
    patient = User.objects.select_for_update().get(pk=patient.pk)
    open_referral = Referral.objects.filter(patient=patient, status__in=Referral.OPEN_STATUSES).first()
    if open_referral is not None:
        raise Conflict(
            f"This patient already has an open referral ({open_referral.pk}); finish or cancel it first.",
            code="referral_open",
        )
    admission = Admission.objects.filter(patient=patient, discharged_at__isnull=True).first()
    if admission is not None and admission.hospital_id != from_hospital.pk:
        raise Conflict(
            "This patient is admitted at another hospital than the origin; that hospital refers them.",
            code="admitted_elsewhere",
        )
    referral = Referral.objects.create(
        patient=patient,
        from_hospital=from_hospital,
        to_hospital=to_hospital,
        reason=reason,
        urgency=urgency,
        bed_type=bed_type,
        requested_by=by,
    )
    _step_recorded(referral=referral, by=by, note=reason, action=Action.CREATE)
    return referral


# --- Destination's answer ---------------------------------------------------------------------


def _free_bed_of_type(referral: Referral) -> Bed:
    # SKIP LOCKED: a bed another acceptance is reserving right now is not ours to wait for; when it was
    # the last one, we answer `no_bed` at once instead of queueing behind a reservation that will succeed.
    bed = (
        Bed.objects.free()
        .filter(hospital_id=referral.to_hospital_id, bed_type=referral.bed_type)
        .order_by("pk")
        .select_for_update(skip_locked=True)
        .first()
    )
    if bed is None:
        raise Conflict(
            f"{referral.to_hospital.name} has no free {referral.bed_type} bed.",
            code="no_bed",
        )
    return bed


def _chosen_bed(referral: Referral, bed_id: int) -> Bed:
    bed = Bed.objects.filter(pk=bed_id).first()
    if bed is None:
        raise NotFound("No such bed.")
    if bed.hospital_id != referral.to_hospital_id:
        raise serializers.ValidationError(
            {"bed_id": ["The bed belongs to another hospital than the destination."]}, code="hospital_mismatch"
        )
    if bed.bed_type != referral.bed_type:
        raise serializers.ValidationError(
            {"bed_id": [f"The referral asks for a {referral.bed_type} bed; this one is {bed.bed_type}."]},
            code="bed_type_mismatch",
        )
    return bed


@transaction.atomic
def referral_accept(*, by: User, referral: Referral, bed_id: int | None = None) -> Referral:
    """The destination's admin (or an admin) accepts, holding a free bed of `bed_type` for the patient.

    The reservation is made in this transaction (hospitals.reservations.bed_reserve): an accepted
    referral always has its bed, and a bed is never held for two referrals.
    """
    referral = _step_begin(referral, by=by, who=referral_require_destination_admin, target=Status.ACCEPTED)
    bed = _chosen_bed(referral, bed_id) if bed_id is not None else _free_bed_of_type(referral)
    bed = bed_reserve(
        by=by, bed=bed, patient=referral.patient, until=timezone.now() + BED_HOLD, reason=f"Referral {referral.pk}"
    )
    _move(referral, Status.ACCEPTED, reserved_bed=bed)
    _step_recorded(referral=referral, by=by, note=f"Bed {bed.bed_number} reserved.", bed_id=bed.pk)
    return referral


@transaction.atomic
def referral_reject(*, by: User, referral: Referral, reason: str) -> Referral:
    """The destination's admin (or an admin) declines a requested referral."""
    referral = _step_begin(referral, by=by, who=referral_require_destination_admin, target=Status.REJECTED)
    _move(referral, Status.REJECTED)
    _step_recorded(referral=referral, by=by, note=reason)
    return referral


# --- Transport and arrival --------------------------------------------------------------------


@transaction.atomic
def referral_dispatch(*, by: User, referral: Referral, ambulance_id: int | None = None) -> Referral:
    """Either hospital's admin or doctors (or an admin) send an ambulance: the given one, or the available
    ambulance of either hospital nearest to the origin. The emergency app's rules take it (row lock,
    `available` re-checked), so an ambulance never serves an emergency and a transfer at once."""
    referral = _step_begin(referral, by=by, who=referral_require_either_side, target=Status.IN_TRANSIT)
    origin = referral.from_hospital
    ambulance = ambulance_take(
        hospital_ids=[referral.from_hospital_id, referral.to_hospital_id],
        ambulance_id=ambulance_id,
        latitude=origin.latitude,
        longitude=origin.longitude,
    )
    ambulance.status = Ambulance.Status.BUSY
    ambulance.save(update_fields=["status", "updated_at"])
    _move(referral, Status.IN_TRANSIT, ambulance=ambulance)
    _step_recorded(
        referral=referral, by=by, note=f"Ambulance {ambulance.vehicle_number} dispatched.", ambulance_id=ambulance.pk
    )
    return referral


def _origin_admission(referral: Referral) -> Admission | None:
    return (
        Admission.objects.filter(
            patient_id=referral.patient_id, hospital_id=referral.from_hospital_id, discharged_at__isnull=True
        )
        .only("pk", "bed_id")
        .first()
    )


@transaction.atomic
def referral_complete(*, by: User, referral: Referral) -> Referral:
    """The destination's admin or doctors (or an admin) admit the patient on the reserved bed.

    One transaction: the origin admission (if any) is discharged, the patient admitted at the
    destination on the reserved bed (the reservation is used), the ambulance freed.
    """
    referral = _step_begin(referral, by=by, who=referral_require_destination_staff, target=Status.COMPLETED)
    origin = _origin_admission(referral)
    # Both beds locked in primary-key order (the hospitals services' order) before either changes.
    bed_ids = sorted({referral.reserved_bed_id, *([origin.bed_id] if origin else [])})
    beds = {bed.pk: bed for bed in Bed.objects.select_for_update().filter(pk__in=bed_ids).order_by("pk")}
    discharged = None
    if origin is not None:
        # Re-read under the bed's lock: a discharge at the origin that committed meanwhile leaves nothing to do.
        still_there = Admission.objects.filter(pk=origin.pk, bed_id=origin.bed_id, discharged_at__isnull=True).exists()
        if still_there:
            discharged = discharge_from_bed(by=by, bed=beds[origin.bed_id], detail={"referral_id": referral.pk})
    admission = bed_admit(
        by=by,
        bed=beds[referral.reserved_bed_id],
        patient=referral.patient,
        reason=f"Referral {referral.pk} from {referral.from_hospital.name}: {referral.reason}"[:500],
    )
    ambulance_free(ambulance_id=referral.ambulance_id)
    _move(referral, Status.COMPLETED)
    _step_recorded(
        referral=referral,
        by=by,
        note=f"Admitted to bed {beds[referral.reserved_bed_id].bed_number}.",
        admission_id=admission.pk,
        discharged_admission_id=discharged.pk if discharged else None,
    )
    return referral


# --- Cancel -----------------------------------------------------------------------------------


@transaction.atomic
def referral_cancel(*, by: User, referral: Referral, reason: str) -> Referral:
    """Either hospital's admin or doctors (or an admin) cancel an open referral: its bed and ambulance are freed."""
    referral = _step_begin(referral, by=by, who=referral_require_either_side, target=Status.CANCELLED)
    released = False
    if referral.status in (Status.ACCEPTED, Status.IN_TRANSIT):
        released = reservation_end_for(
            by=by,
            bed_id=referral.reserved_bed_id,
            patient_id=referral.patient_id,
            detail={"referral_id": referral.pk},
        )
    freed = referral.status == Status.IN_TRANSIT
    if freed:
        ambulance_free(ambulance_id=referral.ambulance_id)
    _move(referral, Status.CANCELLED)
    _step_recorded(referral=referral, by=by, note=reason, bed_released=released, ambulance_freed=freed)
    return referral
