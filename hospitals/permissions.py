"""Who may read and write hospitals, floors, wards, beds and admissions (API.md section 14)."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from hms.api.permissions import role_of
from hms.api.roles import Role
from hospitals.access import manages_hospital, operates_beds_of


def _unrouted(view) -> bool:
    """A method the viewset does not route: let DRF answer 405 instead of 401/403."""
    return getattr(view, "action", "") is None


class PublicReadManagersWrite(BasePermission):
    """Anyone reads; admin and hospital admins write, each object only in its own hospital (else 403)."""

    message = "Only an administrator or this hospital's admin may change it."
    admin_only_actions: tuple[str, ...] = ()

    def has_permission(self, request, view):
        if request.method in SAFE_METHODS or _unrouted(view):
            return True
        role = role_of(request.user)
        if getattr(view, "action", None) in self.admin_only_actions:
            return role == Role.ADMIN
        return role in (Role.ADMIN, Role.HOSPITAL_ADMIN)

    def has_object_permission(self, request, view, obj):
        if request.method in SAFE_METHODS:
            return True
        return manages_hospital(request.user, self.hospital_id_of(obj))

    @staticmethod
    def hospital_id_of(obj) -> int:
        return obj.hospital_id


class HospitalPermission(PublicReadManagersWrite):
    """Anyone reads active hospitals; admin creates and deactivates; admin or its own admin edits."""

    admin_only_actions = ("create", "destroy")

    @staticmethod
    def hospital_id_of(obj) -> int:
        return obj.pk


class CanOperateBeds(BasePermission):
    """Bed actions: admin, and the hospital admin and doctors of the bed's hospital (others 403)."""

    message = "Only an administrator, or this hospital's admin or doctors, may run bed operations."

    def has_permission(self, request, view):
        return role_of(request.user) in (Role.ADMIN, Role.HOSPITAL_ADMIN, Role.DOCTOR)

    def has_object_permission(self, request, view, obj):
        return operates_beds_of(request.user, obj.hospital_id)


class SignedInReadOnly(BasePermission):
    """Signed-in callers read (the queryset decides which rows); writes are 405."""

    def has_permission(self, request, view):
        if _unrouted(view):
            return True
        return bool(request.user and request.user.is_authenticated)
