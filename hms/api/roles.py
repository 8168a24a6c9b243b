"""The one vocabulary of roles. Plumbing (hms imports no app): `accounts.User.Role` is this class."""

from django.db import models


class Role(models.TextChoices):
    ADMIN = "admin", "Administrator"
    HOSPITAL_ADMIN = "hospital_admin", "Hospital administrator"
    DOCTOR = "doctor", "Doctor"
    USER = "user", "Patient"
    DONOR = "donor", "Donor"
    AMBULANCE_DRIVER = "ambulance_driver", "Ambulance driver"


# Accounts that belong to one hospital (they must name it).
STAFF_ROLES = (Role.HOSPITAL_ADMIN, Role.DOCTOR, Role.AMBULANCE_DRIVER)
# The roles anyone may give themselves at registration.
SELF_REGISTER_ROLES = (Role.USER, Role.DONOR)
