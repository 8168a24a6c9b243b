from rest_framework.permissions import BasePermission

from bloodbank.services.access import is_bank_manager
from hms.api.permissions import ADMIN, HOSPITAL_ADMIN, role_of


class IsBankManager(BasePermission):
    """Admin, or the hospital admin of the bank's hospital (object check on the bank)."""

    message = "Only an administrator or the admin of this blood bank's hospital may do this."

    def has_permission(self, request, view):
        return role_of(request.user) in (ADMIN, HOSPITAL_ADMIN)

    def has_object_permission(self, request, view, obj):
        return is_bank_manager(user=request.user, bank=obj)
