"""Small role permissions shared by every app, in the one role vocabulary (hms.api.roles)."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from hms.api.roles import Role


def role_of(user) -> str | None:
    return getattr(user, "role", None) if user and user.is_authenticated else None


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
        return role_of(request.user) == Role.ADMIN


class ReadOnly(BasePermission):
    """Safe methods only."""

    def has_permission(self, request, view):
        return request.method in SAFE_METHODS
