from rest_framework.permissions import BasePermission

from hms.api.permissions import role_of
from hms.api.roles import Role
from hospitals.access import manages_hospital


class IsBankManager(BasePermission):
    """Admin, or the hospital admin of the bank's hospital (an independent bank: admin only)."""

    message = "Only an administrator or the admin of this blood bank's hospital may do this."

    def has_permission(self, request, view):
        return role_of(request.user) in (Role.ADMIN, Role.HOSPITAL_ADMIN)

    def has_object_permission(self, request, view, obj):
        return manages_hospital(request.user, obj.hospital_id)
