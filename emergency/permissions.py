from rest_framework.permissions import BasePermission

from hms.api.permissions import ADMIN, AMBULANCE_DRIVER, DOCTOR, HOSPITAL_ADMIN, role_of


class IsAdminOrHospitalStaff(BasePermission):
    """Admin and hospital staff (hospital admins, doctors, drivers); patients and donors get 403."""

    message = "Only administrators and hospital staff see ambulances."

    def has_permission(self, request, view):
        return role_of(request.user) in (ADMIN, HOSPITAL_ADMIN, DOCTOR, AMBULANCE_DRIVER)


class IsAdminOrHospitalAdmin(BasePermission):
    """Admin and hospital admins; whether it is *their* hospital is checked on the object."""

    message = "Only an administrator or a hospital admin may do this."

    def has_permission(self, request, view):
        return role_of(request.user) in (ADMIN, HOSPITAL_ADMIN)


class ReportsLocation(BasePermission):
    """Admin, hospital admins and drivers; the service checks it is the ambulance's own driver or hospital."""

    message = "Only the ambulance's driver or its hospital's admin reports its location."

    def has_permission(self, request, view):
        return role_of(request.user) in (ADMIN, HOSPITAL_ADMIN, AMBULANCE_DRIVER)


class MovesEmergencies(BasePermission):
    """Admin, hospital admins and drivers; the service checks the emergency's hospital or assigned driver."""

    message = "Only an administrator, the emergency's hospital admin or its ambulance's driver changes its status."

    def has_permission(self, request, view):
        return role_of(request.user) in (ADMIN, HOSPITAL_ADMIN, AMBULANCE_DRIVER)


class OfItsHospital(BasePermission):
    """An ambulance is seen and handled by admin and its own hospital's staff; other hospitals' staff get 403."""

    message = "This ambulance belongs to another hospital."

    def has_object_permission(self, request, view, obj):
        user = request.user
        return role_of(user) == ADMIN or (user.hospital_id is not None and obj.hospital_id == user.hospital_id)
