from rest_framework.permissions import BasePermission

from hms.api.permissions import role_of
from hms.api.roles import STAFF_ROLES, Role
from hospitals.access import is_staff_of


class IsAdminOrHospitalStaff(BasePermission):
    """Admin and hospital staff (hospital admins, doctors, drivers); patients and donors get 403."""

    message = "Only administrators and hospital staff see ambulances."

    def has_permission(self, request, view):
        return role_of(request.user) in (Role.ADMIN, *STAFF_ROLES)


class IsAdminOrHospitalAdmin(BasePermission):
    """Admin and hospital admins; whether it is *their* hospital is checked on the object."""

    message = "Only an administrator or a hospital admin may do this."

    def has_permission(self, request, view):
        return role_of(request.user) in (Role.ADMIN, Role.HOSPITAL_ADMIN)


class ReportsLocation(BasePermission):
    """Admin, hospital admins and drivers; the service checks it is the ambulance's own driver or hospital."""

    message = "Only the ambulance's driver or its hospital's admin reports its location."

    def has_permission(self, request, view):
        return role_of(request.user) in (Role.ADMIN, Role.HOSPITAL_ADMIN, Role.AMBULANCE_DRIVER)


class MovesEmergencies(BasePermission):
    """Admin, hospital admins and drivers; the service checks the emergency's hospital or assigned driver."""

    message = "Only an administrator, the emergency's hospital admin or its ambulance's driver changes its status."

    def has_permission(self, request, view):
        return role_of(request.user) in (Role.ADMIN, Role.HOSPITAL_ADMIN, Role.AMBULANCE_DRIVER)


class OfItsHospital(BasePermission):
    """An ambulance is seen and handled by admin and its own hospital's staff; other hospitals' staff get 403."""

    message = "This ambulance belongs to another hospital."

    def has_object_permission(self, request, view, obj):
        return is_staff_of(request.user, obj.hospital_id)
