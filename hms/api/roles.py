"""The one vocabulary of roles. Plumbing (hms imports no app): `accounts.User.Role` is this class."""

from hms.db_fields import text_choices

Role = text_choices(
    "Role",
    "admin hospital_admin doctor user donor ambulance_driver",
    labels={
        "admin": "Administrator",
        "hospital_admin": "Hospital administrator",
        "user": "Patient",
        "ambulance_driver": "Ambulance driver",
    },
)


# Accounts that belong to one hospital (they must name it).
STAFF_ROLES = (Role.HOSPITAL_ADMIN, Role.DOCTOR, Role.AMBULANCE_DRIVER)
# The roles anyone may give themselves at registration.
SELF_REGISTER_ROLES = (Role.USER, Role.DONOR)
