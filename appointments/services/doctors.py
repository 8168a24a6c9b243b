from django.db import transaction
from rest_framework.exceptions import PermissionDenied, ValidationError

from accounts.activity import Action, audited_update, record
from accounts.models import User
from accounts.services import staff_account_create
from appointments.models import Doctor
from hms.api.exceptions import Conflict
from hospitals.access import manages_hospital

# Accounts that may be turned into a doctor through `user_id`: never an admin, hospital admin or driver.
CONVERTIBLE_ROLES = (User.Role.USER, User.Role.DONOR, User.Role.DOCTOR)


def _adopt_account(*, by: User, user: User, hospital) -> User:
    user = User.objects.select_for_update().get(pk=user.pk)
    # A hospital admin manages its staff's passwords through /users, so letting it adopt a patient's
    # account would hand it that account: only an administrator converts patients and donors.
    if by.role != User.Role.ADMIN and user.role != User.Role.DOCTOR:
        raise PermissionDenied("Only an administrator turns a patient or donor account into a doctor.")
    if Doctor.objects.filter(user=user).exists():
        raise Conflict("This account already has a doctor profile.", code="already_doctor")
    if not user.is_active:
        raise ValidationError({"user_id": ["This account is deactivated."]}, code="inactive")
    if user.role not in CONVERTIBLE_ROLES:
        raise ValidationError(
            {"user_id": ["Only a patient, donor or doctor account can become a doctor."]}, code="role_not_convertible"
        )
    if user.role == User.Role.DOCTOR and user.hospital_id != hospital.pk:
        raise ValidationError(
            {"user_id": ["This doctor account belongs to another hospital."]}, code="hospital_mismatch"
        )
    user.role, user.hospital = User.Role.DOCTOR, hospital
    user.save(update_fields=["role", "hospital"])
    return user


@transaction.atomic
def doctor_create(
    *, by: User, hospital, profile: dict, account: dict | None = None, user: User | None = None
) -> Doctor:
    """A doctor profile with a new account (`account`) or an existing one (`user`), in one transaction."""
    if not manages_hospital(by, hospital.pk):
        raise PermissionDenied("A hospital admin adds doctors to its own hospital only.")
    if account is not None:
        user = staff_account_create(by=by, account=account, role=User.Role.DOCTOR, hospital=hospital)
    else:
        user = _adopt_account(by=by, user=user, hospital=hospital)
        record(action=Action.UPDATE, actor=by, object_type="user", object_id=user.pk, detail={"role": User.Role.DOCTOR})
    doctor = Doctor.objects.create(user=user, hospital=hospital, **profile)
    record(action=Action.CREATE, actor=by, object_type="doctor", object_id=doctor.pk)
    return doctor


@transaction.atomic
def doctor_update(*, by: User, doctor: Doctor, data: dict) -> Doctor:
    """Profile fields (admin, or the doctor's hospital admin: the view's permission), recorded."""
    return audited_update(doctor, by=by, data=data, object_type="doctor")
