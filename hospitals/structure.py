"""Floors and wards: the structure of a hospital that beds hang off. One transaction each; the hospital
row is locked first (as in hospitals.services), which orders these writes with a change of level."""

from django.db import transaction
from rest_framework.exceptions import ValidationError

from accounts.activity import Action, audited_create, record
from accounts.models import User
from hms.api.permissions import role_of
from hms.api.roles import Role
from hospitals.access import require_manager
from hospitals.models import Floor, Hospital, Ward
from hospitals.topics import beds_changed


def _default_hospital(by: User) -> Hospital | None:
    return by.hospital if role_of(by) == Role.HOSPITAL_ADMIN else None


def _lock_managed_hospital(by: User, hospital: Hospital | None) -> Hospital:
    """The hospital a floor or ward is created in (default: a hospital admin's own), managed by `by`,
    locked: the hospital row lock orders structure writes with level changes."""
    hospital = hospital or _default_hospital(by)
    if hospital is None:
        raise ValidationError({"hospital_id": ["This field is required."]}, code="required")
    require_manager(by, hospital.pk)
    return Hospital.objects.select_for_update().get(pk=hospital.pk)


def _require_manager_in_place(by: User, row: Floor | Ward, data: dict, *, noun: str) -> None:
    """An edit of a floor or ward: by a manager of its hospital, and it stays in that hospital."""
    require_manager(by, row.hospital_id)
    if "hospital" in data and data["hospital"].pk != row.hospital_id:
        raise ValidationError({"hospital_id": [f"A {noun} cannot move to another hospital."]}, code="hospital_mismatch")


def _save_given(by: User, row: Floor | Ward, data: dict, fields: tuple[str, ...], *, noun: str) -> None:
    """Copy the fields `data` gives onto `row` (a partial update leaves the others alone), save it and
    record the update."""
    for field in fields:
        if field in data:
            setattr(row, field, data[field])
    row.save()
    record(action=Action.UPDATE, actor=by, object_type=noun, object_id=row.pk)


@transaction.atomic
def floor_create(*, by: User, hospital: Hospital | None, floor_number: str, name: str = "") -> Floor:
    """A floor; only multi-level hospitals have floors. The hospital row lock orders us with level changes."""
    hospital = _lock_managed_hospital(by, hospital)
    if not hospital.is_multi_level:
        raise ValidationError(
            {"hospital_id": ["A single-level hospital has no floors; create its wards directly."]},
            code="single_level_hospital",
        )
    return audited_create(
        Floor, by=by, data={"hospital": hospital, "floor_number": floor_number, "name": name}, object_type="floor"
    )


@transaction.atomic
def floor_update(*, by: User, floor: Floor, data: dict) -> Floor:
    _require_manager_in_place(by, floor, data, noun="floor")
    floor = Floor.objects.select_for_update().get(pk=floor.pk)
    _save_given(by, floor, data, ("floor_number", "name"), noun="floor")
    return floor


def check_ward_placement(*, hospital: Hospital, floor: Floor | None) -> None:
    """A multi-level hospital's ward is on one of its floors; a single-level hospital's has none."""
    if hospital.is_multi_level:
        if floor is None:
            raise ValidationError({"floor_id": ["A ward of a multi-level hospital needs a floor."]}, code="required")
        if floor.hospital_id != hospital.pk:
            raise ValidationError({"floor_id": ["This floor belongs to another hospital."]}, code="hospital_mismatch")
    elif floor is not None:
        raise ValidationError(
            {"floor_id": ["A single-level hospital has no floors; leave floor_id empty."]}, code="single_level_hospital"
        )


@transaction.atomic
def ward_create(*, by: User, data: dict) -> Ward:
    floor = data.get("floor")
    hospital = _lock_managed_hospital(by, data.get("hospital") or (floor.hospital if floor is not None else None))
    check_ward_placement(hospital=hospital, floor=floor)
    values = {
        "hospital": hospital,
        "floor": floor,
        "name": data["name"],
        "ward_number": data.get("ward_number", ""),
        "ward_type": data.get("ward_type", Ward._meta.get_field("ward_type").default),
    }
    return audited_create(Ward, by=by, data=values, object_type="ward")


@transaction.atomic
def ward_update(*, by: User, ward: Ward, data: dict) -> Ward:
    _require_manager_in_place(by, ward, data, noun="ward")
    hospital = Hospital.objects.select_for_update().get(pk=ward.hospital_id)
    ward = Ward.objects.select_for_update().get(pk=ward.pk)
    if "floor" in data:
        check_ward_placement(hospital=hospital, floor=data["floor"])
        ward.floor = data["floor"]
    _save_given(by, ward, data, ("name", "ward_number", "ward_type"), noun="ward")
    beds_changed(hospital_id=ward.hospital_id)  # a new ward type moves its beds between counts
    return ward
