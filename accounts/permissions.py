from rest_framework.permissions import BasePermission

from accounts.models import User


class CanManageUsers(BasePermission):
    """Admins manage every account; hospital admins the staff of their own hospital."""

    message = "Only administrators and hospital admins manage accounts."

    def has_permission(self, request, view):
        return request.user.is_authenticated and request.user.role in (User.Role.ADMIN, User.Role.HOSPITAL_ADMIN)
