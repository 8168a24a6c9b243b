"""Small role permissions shared by every app. Roles are plain strings here (hms imports no app)."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

ADMIN = "admin"
HOSPITAL_ADMIN = "hospital_admin"
DOCTOR = "doctor"
PATIENT = "user"
DONOR = "donor"
AMBULANCE_DRIVER = "ambulance_driver"
STAFF_ROLES = (HOSPITAL_ADMIN, DOCTOR, AMBULANCE_DRIVER)


def role_of(user) -> str | None:
    return getattr(user, "role", None) if user and user.is_authenticated else None


def visibility_scope(user) -> str:
    """Which rows of deactivated hospitals and banks the caller sees: "all" (admins) or "active".

    A cache key part (hms.api.readcache): callers who see the same rows share kept answers.
    """
    return "all" if role_of(user) == ADMIN else "active"


def has_role(*roles: str) -> type[BasePermission]:
    """A permission class that admits signed-in users of the given roles."""

    class HasRole(BasePermission):
        message = "Your role may not do this."

        def has_permission(self, request, view):
            return role_of(request.user) in roles

    HasRole.__name__ = "HasRole_" + "_".join(roles)
    return HasRole


class IsAdminRole(BasePermission):
    """Only the `admin` role."""

    message = "Only an administrator may do this."

    def has_permission(self, request, view):
        return role_of(request.user) == ADMIN


class ReadOnly(BasePermission):
    """Safe methods only."""

    def has_permission(self, request, view):
        return request.method in SAFE_METHODS
