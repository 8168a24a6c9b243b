import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"'{value}' is not an IANA time zone name.", code="invalid")


def default_timezone() -> str:
    return settings.TIME_ZONE


class Hospital(models.Model):
    class HospitalType(models.TextChoices):
        GOVERNMENT = "government"
        PRIVATE = "private"
        CHARITABLE = "charitable"
        OTHER = "other"

    class OpdStatus(models.TextChoices):
        OPEN = "open"
        CLOSED = "closed"
        LIMITED = "limited"

    name = models.CharField(max_length=200)
    registration_number = models.CharField(max_length=64, unique=True)
    hospital_type = models.CharField(max_length=20, choices=HospitalType.choices, default=HospitalType.GOVERNMENT)
    address = models.CharField(max_length=500, blank=True, default="")
    city = models.CharField(max_length=100, blank=True, default="", db_index=True)
    state = models.CharField(max_length=100, blank=True, default="")
    country = models.CharField(max_length=100, blank=True, default="")
    postal_code = models.CharField(max_length=20, blank=True, default="")
    phone = models.CharField(max_length=20, blank=True, default="")
    email = models.EmailField(max_length=254, blank=True, default="")
    latitude = models.FloatField(null=True, blank=True, validators=[MinValueValidator(-90), MaxValueValidator(90)])
    longitude = models.FloatField(null=True, blank=True, validators=[MinValueValidator(-180), MaxValueValidator(180)])
    timezone = models.CharField(max_length=64, default=default_timezone, validators=[validate_timezone])
    is_multi_level = models.BooleanField(default=True)
    opd_status = models.CharField(max_length=10, choices=OpdStatus.choices, default=OpdStatus.OPEN)
    emergency_services = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["latitude", "longitude"], name="hospital_lat_lng")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(latitude__isnull=True) | models.Q(latitude__gte=-90, latitude__lte=90),
                name="hospital_latitude_range",
            ),
            models.CheckConstraint(
                condition=models.Q(longitude__isnull=True) | models.Q(longitude__gte=-180, longitude__lte=180),
                name="hospital_longitude_range",
            ),
        ]

    def __str__(self):
        return self.name


class WardType(models.TextChoices):
    GENERAL = "general"
    ICU = "icu", "ICU"
    NICU = "nicu", "NICU"
    PICU = "picu", "PICU"
    MATERNITY = "maternity"
    PEDIATRIC = "pediatric"
    EMERGENCY = "emergency"
    ISOLATION = "isolation"
    SURGICAL = "surgical"
    PRIVATE = "private"


class BedStatus(models.TextChoices):
    AVAILABLE = "available"
    OCCUPIED = "occupied"
    RESERVED = "reserved"
    CLEANING = "cleaning"
    MAINTENANCE = "maintenance"


# Statuses a bed may be given through `/status` (occupied is reached only by admitting a patient).
SETTABLE_BED_STATUSES = (BedStatus.AVAILABLE, BedStatus.RESERVED, BedStatus.CLEANING, BedStatus.MAINTENANCE)
# Statuses a bed must be in to take a new admission.
ADMITTABLE_BED_STATUSES = (BedStatus.AVAILABLE, BedStatus.RESERVED)


class Floor(models.Model):
    """A level of a multi-level hospital (single-level hospitals have none)."""

    hospital = models.ForeignKey(Hospital, on_delete=models.PROTECT, related_name="floors")
    floor_number = models.CharField(max_length=20)
    name = models.CharField(max_length=100, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["hospital_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["hospital", "floor_number"], name="floor_unique_number_per_hospital"),
        ]

    def __str__(self):
        return f"{self.hospital_id}: floor {self.floor_number}"


class Ward(models.Model):
    """A ward of a hospital: on a floor in a multi-level hospital, directly under a single-level one."""

    hospital = models.ForeignKey(Hospital, on_delete=models.PROTECT, related_name="wards")
    floor = models.ForeignKey(Floor, null=True, blank=True, on_delete=models.PROTECT, related_name="wards")
    name = models.CharField(max_length=100)
    ward_number = models.CharField(max_length=20, blank=True, default="")
    ward_type = models.CharField(max_length=20, choices=WardType.choices, default=WardType.GENERAL, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["hospital_id", "id"]

    def __str__(self):
        return f"{self.name} ({self.ward_type})"


class Bed(models.Model):
    """A bed. `hospital` is the ward's hospital, stored again so availability filters need no join."""

    ward = models.ForeignKey(Ward, on_delete=models.PROTECT, related_name="beds")
    hospital = models.ForeignKey(Hospital, on_delete=models.PROTECT, related_name="beds")
    bed_number = models.CharField(max_length=20)
    status = models.CharField(max_length=20, choices=BedStatus.choices, default=BedStatus.AVAILABLE)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["ward_id", "id"]
        indexes = [models.Index(fields=["hospital", "status"], name="bed_hospital_status")]
        constraints = [
            models.UniqueConstraint(fields=["ward", "bed_number"], name="bed_unique_number_per_ward"),
        ]

    def __str__(self):
        return f"bed {self.bed_number} ({self.status})"


class Admission(models.Model):
    """A stay in a bed: a registered patient (`patient`) or a walk-in known by name only."""

    bed = models.ForeignKey(Bed, on_delete=models.PROTECT, related_name="admissions")
    hospital = models.ForeignKey(Hospital, on_delete=models.PROTECT, related_name="admissions")
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="admissions"
    )
    patient_name = models.CharField(max_length=150)
    reason = models.CharField(max_length=500, blank=True, default="")
    admitted_at = models.DateTimeField(db_index=True)
    discharged_at = models.DateTimeField(null=True, blank=True)
    admitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-admitted_at", "-id"]
        indexes = [models.Index(fields=["hospital", "-admitted_at"], name="admission_hospital_admitted")]
        constraints = [
            # The code checks both under row locks; these are the backstop if it ever does not.
            models.UniqueConstraint(
                fields=["bed"], condition=models.Q(discharged_at__isnull=True), name="admission_one_active_per_bed"
            ),
            models.UniqueConstraint(
                fields=["patient"],
                condition=models.Q(discharged_at__isnull=True, patient__isnull=False),
                name="admission_one_active_per_patient",
            ),
            models.CheckConstraint(
                condition=models.Q(patient__isnull=False) | ~models.Q(patient_name=""),
                name="admission_names_a_patient",
            ),
            models.CheckConstraint(
                condition=models.Q(discharged_at__isnull=True) | models.Q(discharged_at__gte=models.F("admitted_at")),
                name="admission_discharged_after_admitted",
            ),
        ]

    def __str__(self):
        return f"admission {self.pk}: {self.patient_name}"

    @property
    def is_active(self) -> bool:
        return self.discharged_at is None
