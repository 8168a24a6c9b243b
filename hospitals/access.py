"""Who manages, operates and staffs a hospital: the one set of predicates every app asks.

Each takes the caller (a user, possibly anonymous) and a hospital id (possibly None: no hospital,
which only an administrator manages). Roles are the one vocabulary of hms.api.roles.
"""

from rest_framework.exceptions import PermissionDenied

from hms.api.permissions import role_of
from hms.api.roles import STAFF_ROLES, Role


def is_admin(user) -> bool:
    """The `admin` role (every hospital, and rows of no hospital)."""
    return role_of(user) == Role.ADMIN


def _works_at(user, hospital_id, roles) -> bool:
    return role_of(user) in roles and hospital_id is not None and user.hospital_id == hospital_id


def manages_hospital(user, hospital_id) -> bool:
    """Admin, or the hospital admin of that hospital."""
    return is_admin(user) or _works_at(user, hospital_id, (Role.HOSPITAL_ADMIN,))


def require_manager(user, hospital_id) -> None:
    """403 unless the caller manages that hospital (`manages_hospital`): the check of every structure write."""
    if not manages_hospital(user, hospital_id):
        raise PermissionDenied("Only an administrator or this hospital's admin may change it.")


def operates_beds_of(user, hospital_id) -> bool:
    """Admin, or the hospital admin or a doctor of that hospital (drivers never admit)."""
    return is_admin(user) or _works_at(user, hospital_id, (Role.HOSPITAL_ADMIN, Role.DOCTOR))


def is_staff_of(user, hospital_id) -> bool:
    """Admin, or any staff account (hospital admin, doctor, driver) of that hospital."""
    return is_admin(user) or _works_at(user, hospital_id, STAFF_ROLES)
