"""Who may write what in OPD. Reads of public objects are open; clinical visibility is the scoped queryset."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from hms.api.permissions import role_of
from hms.api.roles import Role
from hms.api.scoping import ScopedQuerysetMixin
from hospitals.access import manages_hospital

BOOKING_ROLES = (Role.ADMIN, Role.HOSPITAL_ADMIN, Role.DOCTOR, Role.USER, Role.DONOR)


def _unrouted(view) -> bool:
    """No handler for this method: let the dispatcher answer 405 to everyone (DELETE, PUT where absent)."""
    return getattr(view, "action", "") is None


def doctor_of(user):
    """The caller's doctor profile, or None (not a doctor, or a doctor account without a profile)."""
    from appointments.models import Doctor

    if role_of(user) != Role.DOCTOR:
        return None
    try:
        return user.doctor_profile
    except Doctor.DoesNotExist:
        return None


def manages_doctor(user, doctor) -> bool:
    """Admin, the doctor's hospital admin, or the doctor itself (its schedules and slots)."""
    return manages_hospital(user, doctor.hospital_id) or (role_of(user) == Role.DOCTOR and doctor.user_id == user.pk)


class ClinicalRecordScope(ScopedQuerysetMixin):
    """An appointment or a visit is seen by its patient, its doctor, the hospital's admin and admin;
    anyone else gets 404."""

    owner_lookups = ("patient_id",)
    hospital_lookups = {Role.HOSPITAL_ADMIN: "hospital_id"}
    user_lookups = {Role.DOCTOR: "doctor__user_id"}


class SeatRequestScope(ScopedQuerysetMixin):
    """A hold or a waitlist entry is seen by its patient, the hospital's admin and doctors, and admin;
    anyone else gets 404."""

    owner_lookups = ("patient_id",)
    hospital_lookups = {Role.HOSPITAL_ADMIN: "hospital_id", Role.DOCTOR: "hospital_id"}


class _PublicRead(BasePermission):
    """Anyone reads; `writer_roles` write, each object as `may_write` says."""

    writer_roles: tuple[str, ...] = ()

    def has_permission(self, request, view):
        return _unrouted(view) or request.method in SAFE_METHODS or role_of(request.user) in self.writer_roles

    def has_object_permission(self, request, view, obj):
        return request.method in SAFE_METHODS or self.may_write(request.user, obj)

    def may_write(self, user, obj) -> bool:
        raise NotImplementedError


class PublicReadHospitalWrite(_PublicRead):
    """Anyone reads; admin and hospital admins write (their own hospital's rows, checked per object)."""

    message = "Only an administrator or the hospital's admin may change this."
    writer_roles = (Role.ADMIN, Role.HOSPITAL_ADMIN)

    def may_write(self, user, obj) -> bool:
        return manages_hospital(user, obj.hospital_id)


class PublicReadDoctorWrite(_PublicRead):
    """Anyone reads; admin, the hospital's admin and the doctor itself write (schedules, slots)."""

    message = "Only an administrator, the hospital's admin or the doctor itself may change this."
    writer_roles = (Role.ADMIN, Role.HOSPITAL_ADMIN, Role.DOCTOR)

    def may_write(self, user, obj) -> bool:
        return manages_doctor(user, obj.doctor)


class AppointmentAccess(BasePermission):
    """Booking: patients, donors and staff (not drivers). Cancel/edit: patient, hospital admin, admin.
    Check-in, complete, no-show: the slot's doctor, hospital admin, admin."""

    message = "Your role may not do this to this appointment."

    def has_permission(self, request, view):
        role = role_of(request.user)
        if _unrouted(view):
            return True
        if role is None:
            return False
        if view.action == "create":
            return role in BOOKING_ROLES
        return role != Role.AMBULANCE_DRIVER or request.method in SAFE_METHODS

    def has_object_permission(self, request, view, obj):
        user, role = request.user, role_of(request.user)
        if request.method in SAFE_METHODS:
            return True
        if view.action in ("cancel", "partial_update"):
            return obj.patient_id == user.pk or manages_hospital(user, obj.hospital_id)
        if view.action in ("check_in", "complete", "no_show"):
            return manages_hospital(user, obj.hospital_id) or (role == Role.DOCTOR and obj.doctor.user_id == user.pk)
        return False


class VisitAccess(BasePermission):
    """Reads follow the scoped queryset; only doctors record visits."""

    message = "Only a doctor records visits."

    def has_permission(self, request, view):
        if _unrouted(view):
            return True
        if request.method in SAFE_METHODS:
            return role_of(request.user) is not None
        return role_of(request.user) == Role.DOCTOR


class HoldPlacement(BasePermission):
    """Holding a seat: whoever may book (patients and donors for themselves, staff for a patient)."""

    message = "Your role may not hold seats."

    def has_permission(self, request, view):
        return role_of(request.user) in BOOKING_ROLES

    def has_object_permission(self, request, view, obj):
        return True  # the slot is public; which hospital's staff may hold is the service's rule


class HoldAccess(BasePermission):
    """Reads follow the scoped queryset; releasing is the service's rule (the patient or its staff)."""

    message = "Your role may not release holds."

    def has_permission(self, request, view):
        if _unrouted(view):
            return True
        role = role_of(request.user)
        if request.method in SAFE_METHODS:
            return role is not None
        return role in BOOKING_ROLES
