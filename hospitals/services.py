"""Every write of the hospitals app with a business rule: one transaction each, rows locked first.

Lock order, so two transactions never wait on each other in a circle: hospital, then beds (in
primary-key order), then the patient's account.
"""

from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import PermissionDenied, ValidationError

from accounts.activity import Action, audited_create, audited_deactivate, audited_update, record, record_row
from accounts.models import User
from accounts.services import staff_account_create
from hms.api.exceptions import Conflict
from hospitals.access import is_admin, operates_beds_of, require_manager
from hospitals.models import (
    ADMITTABLE_BED_STATUSES,
    RESERVATION_FIELDS,
    Admission,
    Bed,
    BedStatus,
    BedType,
    Hospital,
    Ward,
)
from hospitals.topics import beds_changed, hospital_topic

# --- Hospitals --------------------------------------------------------------------------------


@transaction.atomic
def hospital_create(*, by: User, data: dict, admin_data: dict | None) -> tuple[Hospital, User | None]:
    """A hospital and, when `admin_data` is given, its hospital admin: both or neither."""
    hospital = audited_create(Hospital, by=by, data=data, object_type="hospital")
    admin = None
    if admin_data is not None:
        admin = staff_account_create(
            by=by,
            account=admin_data,
            role=User.Role.HOSPITAL_ADMIN,
            hospital=hospital,
            detail={"role": User.Role.HOSPITAL_ADMIN, "hospital_id": hospital.pk},
        )
    return hospital, admin


@transaction.atomic
def hospital_update(*, by: User, hospital: Hospital, data: dict) -> Hospital:
    """Edit a hospital. Switching between multi- and single-level must not strand floors or wards."""
    require_manager(by, hospital.pk)
    hospital = Hospital.objects.select_for_update().get(pk=hospital.pk)
    if "is_active" in data and data["is_active"] != hospital.is_active and not is_admin(by):
        raise PermissionDenied("Only an administrator may activate or deactivate a hospital.")
    multi_level = data.get("is_multi_level", hospital.is_multi_level)
    if multi_level != hospital.is_multi_level:
        if not multi_level and hospital.floors.exists():
            raise Conflict(
                "This hospital has floors; a single-level hospital has none. Move its wards first.",
                code="hospital_has_floors",
            )
        if multi_level and hospital.wards.filter(floor__isnull=True).exists():
            raise Conflict(
                "This hospital has wards without a floor; a multi-level hospital needs floors for them.",
                code="wards_without_floor",
            )
    return audited_update(hospital, by=by, data=data, object_type="hospital")


@transaction.atomic
def hospital_deactivate(*, by: User, hospital: Hospital) -> None:
    """DELETE keeps the data: the hospital leaves public lists and can be reactivated by an admin."""
    audited_deactivate(hospital, by=by, object_type="hospital", topics=[hospital_topic(hospital.pk)])


# --- Beds -------------------------------------------------------------------------------------


@transaction.atomic
def bed_create(
    *, by: User, ward: Ward, bed_number: str, status: str = BedStatus.AVAILABLE, bed_type: str = BedType.GENERAL
) -> Bed:
    """A bed in a ward; its hospital is the ward's."""
    require_manager(by, ward.hospital_id)
    bed = Bed.objects.create(
        ward=ward, hospital_id=ward.hospital_id, bed_number=bed_number, status=status, bed_type=bed_type
    )
    beds_changed(hospital_id=bed.hospital_id)
    record(action=Action.CREATE, actor=by, object_type="bed", object_id=bed.pk)
    return bed


@transaction.atomic
def bed_update(*, by: User, bed: Bed, data: dict) -> Bed:
    """Renumber a bed or move it to another ward of the same hospital (its admission stays with it)."""
    require_manager(by, bed.hospital_id)
    ward = data.get("ward")
    if ward is not None and ward.pk != bed.ward_id:
        require_manager(by, ward.hospital_id)
        if ward.hospital_id != bed.hospital_id:
            raise ValidationError(
                {"ward_id": ["A bed moves only between wards of its hospital."]}, code="hospital_mismatch"
            )
    bed = Bed.objects.select_for_update().get(pk=bed.pk)
    if ward is not None:
        bed.ward = ward
    for field in ("bed_number", "bed_type"):
        if field in data:
            setattr(bed, field, data[field])
    bed.save()
    beds_changed(hospital_id=bed.hospital_id)
    record(action=Action.UPDATE, actor=by, object_type="bed", object_id=bed.pk)
    return bed


def unavailable_bed_code(bed: Bed) -> str:
    """Why a bed takes no patient: `bed_occupied`, `bed_reserved`, or `bed_unavailable` (cleaning, maintenance)."""
    if bed.status == BedStatus.OCCUPIED:
        return "bed_occupied"
    if bed.status == BedStatus.RESERVED:
        return "bed_reserved"
    return "bed_unavailable"


def lock_bed(bed_id: int) -> Bed:
    return Bed.objects.select_for_update().get(pk=bed_id)


def save_bed(bed: Bed) -> None:
    """Write the locked bed's status and reservation, and announce the change to its hospital."""
    bed.save(update_fields=["status", *RESERVATION_FIELDS, "updated_at"])
    beds_changed(hospital_id=bed.hospital_id)


def record_bed_operation(bed: Bed, *, by: User, patient_id: int | None, detail: dict) -> None:
    """The audit entry of an operation on a bed (status, reserve, release), naming the patient it concerns."""
    record(action=Action.ACTION, actor=by, object_type="bed", object_id=bed.pk, patient_id=patient_id, detail=detail)


def _record_admission(admission: Admission, *, by: User, detail: dict, action: str = Action.ACTION) -> None:
    """The audit entry of an admission's creation or of an operation on it (discharge, transfer), naming
    its patient."""
    record_row(action, admission, by=by, object_type="admission", detail=detail)


def _active_admission(bed: Bed) -> Admission | None:
    return Admission.objects.select_for_update().filter(bed_id=bed.pk, discharged_at__isnull=True).first()


@transaction.atomic
def bed_admit(*, by: User, bed: Bed, patient: User | None, patient_name: str = "", reason: str = "") -> Admission:
    """Admit a registered patient or a walk-in to an available (or reserved) bed."""
    if not operates_beds_of(by, bed.hospital_id):
        raise PermissionDenied("Only an administrator, or this hospital's admin or doctors, may admit.")
    # The bed lock serialises every admission and reservation of this bed: the first wins, the rest
    # see it occupied (or reserved for someone else).
    bed = lock_bed(bed.pk)
    now = timezone.now()
    reservation_used = bed.holds_reservation(now)
    if reservation_used and (patient is None or patient.pk != bed.reserved_for_id):
        raise Conflict(
            f"This bed is reserved for another patient until {bed.reserved_until.isoformat()}.", code="bed_reserved"
        )
    if bed.shown_status_at(now) not in ADMITTABLE_BED_STATUSES:
        raise Conflict(
            f"This bed is {bed.status}; only an available or reserved bed takes an admission.",
            code=unavailable_bed_code(bed),
        )
    if patient is not None:
        # The patient lock serialises admissions of one patient to two beds at once.
        patient = User.objects.select_for_update().get(pk=patient.pk)
        current = Admission.objects.filter(patient=patient, discharged_at__isnull=True).first()
        if current is not None:
            raise Conflict(
                f"This patient is already admitted (admission {current.pk}, bed {current.bed_id}).",
                code="already_admitted",
            )
        patient_name = patient.fullname or patient.username
    admission = Admission.objects.create(
        bed=bed,
        hospital_id=bed.hospital_id,
        patient=patient,
        patient_name=patient_name,
        reason=reason,
        admitted_at=timezone.now(),
        admitted_by=by,
    )
    bed.status = BedStatus.OCCUPIED
    bed.clear_reservation()  # the patient's reservation is used; a lapsed one is forgotten
    save_bed(bed)
    _record_admission(
        admission,
        by=by,
        action=Action.CREATE,
        detail={"bed_id": bed.pk, **({"reservation_used": True} if reservation_used else {})},
    )
    return admission


@transaction.atomic
def bed_discharge(*, by: User, bed: Bed) -> Admission:
    """Close the bed's active admission; the bed goes to cleaning."""
    if not operates_beds_of(by, bed.hospital_id):
        raise PermissionDenied("Only an administrator, or this hospital's admin or doctors, may discharge.")
    return discharge_from_bed(by=by, bed=bed)


@transaction.atomic
def discharge_from_bed(*, by: User, bed: Bed, detail: dict | None = None) -> Admission:
    """bed_discharge for a workflow that has decided itself who may act (a referral completed by the
    destination's staff discharges the patient at the origin); `detail` joins the audit entry."""
    bed = lock_bed(bed.pk)
    admission = _active_admission(bed)
    if admission is None:
        raise Conflict("This bed has no active admission to discharge.", code="no_active_admission")
    admission.discharged_at = timezone.now()
    admission.save(update_fields=["discharged_at"])
    bed.status = BedStatus.CLEANING
    bed.save(update_fields=["status", "updated_at"])
    beds_changed(hospital_id=bed.hospital_id)
    _record_admission(admission, by=by, detail={"operation": "discharge", "bed_id": bed.pk, **(detail or {})})
    return admission


@transaction.atomic
def bed_transfer(*, by: User, bed: Bed, to_bed: Bed) -> Admission:
    """Move the bed's active admission to an available bed of the same hospital; the source goes to cleaning."""
    if not operates_beds_of(by, bed.hospital_id) or not operates_beds_of(by, to_bed.hospital_id):
        raise PermissionDenied("Only an administrator, or this hospital's admin or doctors, may transfer.")
    if to_bed.hospital_id != bed.hospital_id:
        raise ValidationError({"to_bed_id": ["A transfer stays within one hospital."]}, code="hospital_mismatch")
    if to_bed.pk == bed.pk:
        raise Conflict("The patient is already in this bed.", code="same_bed")
    # Both beds locked in primary-key order: two opposite transfers never deadlock.
    locked = {row.pk: row for row in Bed.objects.select_for_update().filter(pk__in=[bed.pk, to_bed.pk]).order_by("pk")}
    source, target = locked[bed.pk], locked[to_bed.pk]
    admission = _active_admission(source)
    if admission is None:
        raise Conflict("This bed has no active admission to transfer.", code="no_active_admission")
    if target.shown_status_at(timezone.now()) != BedStatus.AVAILABLE:
        raise Conflict(
            f"The target bed is {target.status}; a transfer needs an available bed.",
            code=unavailable_bed_code(target),
        )
    admission.bed = target
    admission.save(update_fields=["bed"])
    source.status = BedStatus.CLEANING
    target.status = BedStatus.OCCUPIED
    target.clear_reservation()  # a lapsed reservation is forgotten
    source.save(update_fields=["status", "updated_at"])
    target.save(update_fields=["status", *RESERVATION_FIELDS, "updated_at"])
    beds_changed(hospital_id=target.hospital_id)
    _record_admission(
        admission, by=by, detail={"operation": "transfer", "from_bed_id": source.pk, "to_bed_id": target.pk}
    )
    return admission


@transaction.atomic
def bed_status_set(*, by: User, bed: Bed, status: str) -> Bed:
    """available | reserved | cleaning | maintenance. An occupied bed changes only by discharge or transfer."""
    if not operates_beds_of(by, bed.hospital_id):
        raise PermissionDenied("Only an administrator, or this hospital's admin or doctors, may change bed status.")
    if status == BedStatus.OCCUPIED:
        raise ValidationError(
            {"status": ["A bed becomes occupied only by admitting a patient."]}, code="invalid_choice"
        )
    bed = lock_bed(bed.pk)
    if bed.status == BedStatus.OCCUPIED:
        raise Conflict("An occupied bed changes status only by discharge or transfer.", code="bed_occupied")
    now = timezone.now()
    previous = bed.shown_status_at(now)
    # `reserved` on a reserved bed keeps whatever holds it; any other change ends a patient's reservation
    # (the manual `reserved` is a reservation for nobody in particular).
    ended_reservation_of = bed.reserved_for_id if bed.holds_reservation(now) and status != previous else None
    if status != previous or (bed.reserved_until is not None and status != BedStatus.RESERVED):
        bed.status = status
        bed.clear_reservation()
        save_bed(bed)
    record_bed_operation(
        bed, by=by, patient_id=ended_reservation_of, detail={"operation": "status", "from": previous, "to": status}
    )
    return bed
