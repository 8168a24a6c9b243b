import zoneinfo
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from hms.db_fields import text_choices, user_reference
from hms.models import Timestamped
from hospitals.geo import coordinate_constraints, coordinate_fields


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"'{value}' is not an IANA time zone name.", code="invalid")


def default_timezone() -> str:
    return settings.TIME_ZONE


class Hospital(Timestamped):
    HospitalType = text_choices("HospitalType", "government private charitable other")
    OpdStatus = text_choices("OpdStatus", "open closed limited")

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
    latitude, longitude = coordinate_fields()
    timezone = models.CharField(max_length=64, default=default_timezone, validators=[validate_timezone])
    is_multi_level = models.BooleanField(default=True)
    opd_status = models.CharField(max_length=10, choices=OpdStatus.choices, default=OpdStatus.OPEN)
    emergency_services = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True, db_index=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["latitude", "longitude"], name="hospital_lat_lng")]
        constraints = coordinate_constraints("hospital")

    def __str__(self):
        return self.name


WardType = text_choices(
    "WardType",
    "general icu nicu picu maternity pediatric emergency isolation surgical private",
    labels={"icu": "ICU", "nicu": "NICU", "picu": "PICU"},
)

BedStatus = text_choices("BedStatus", "available occupied reserved cleaning maintenance")


# What a bed can do (an oxygen line, a ventilator), whatever the ward it stands in.
BedType = text_choices(
    "BedType",
    "general icu hdu oxygen ventilator isolation pediatric maternity",
    labels={"icu": "ICU", "hdu": "HDU"},
)


# Statuses a bed may be given through `/status` (occupied is reached only by admitting a patient).
SETTABLE_BED_STATUSES = (BedStatus.AVAILABLE, BedStatus.RESERVED, BedStatus.CLEANING, BedStatus.MAINTENANCE)
# Statuses a bed must be in to take a new admission.
ADMITTABLE_BED_STATUSES = (BedStatus.AVAILABLE, BedStatus.RESERVED)


class Floor(Timestamped):
    """A level of a multi-level hospital (single-level hospitals have none)."""

    hospital = models.ForeignKey(Hospital, on_delete=models.PROTECT, related_name="floors")
    floor_number = models.CharField(max_length=20)
    name = models.CharField(max_length=100, blank=True, default="")

    class Meta:
        ordering = ["hospital_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["hospital", "floor_number"], name="floor_unique_number_per_hospital"),
        ]

    def __str__(self):
        return f"{self.hospital_id}: floor {self.floor_number}"


class Ward(Timestamped):
    """A ward of a hospital: on a floor in a multi-level hospital, directly under a single-level one."""

    hospital = models.ForeignKey(Hospital, on_delete=models.PROTECT, related_name="wards")
    floor = models.ForeignKey(Floor, null=True, blank=True, on_delete=models.PROTECT, related_name="wards")
    name = models.CharField(max_length=100)
    ward_number = models.CharField(max_length=20, blank=True, default="")
    ward_type = models.CharField(max_length=20, choices=WardType.choices, default=WardType.GENERAL, db_index=True)

    class Meta:
        ordering = ["hospital_id", "id"]

    def __str__(self):
        return f"{self.name} ({self.ward_type})"


# A reservation for a patient lapses at its `until` whether or not anything has run since: a bed whose
# reservation has lapsed is available. The rule is read here twice, in SQL (counts and filters) and in
# Python (one row already loaded); both say "reserved_until <= now".


def reservation_lapsed(now, prefix: str = "") -> models.Q:
    """Beds whose reservation for a patient has lapsed (`prefix`: the path to the bed, e.g. `beds__`)."""
    return models.Q(**{f"{prefix}status": BedStatus.RESERVED, f"{prefix}reserved_until__lte": now})


def shown_status(now, prefix: str = "") -> models.Case:
    """The bed's status as every reader sees it: `available` once its reservation has lapsed."""
    return models.Case(
        models.When(reservation_lapsed(now, prefix), then=models.Value(BedStatus.AVAILABLE)),
        default=models.F(f"{prefix}status"),
        output_field=models.CharField(),
    )


def free_beds(now, prefix: str = "") -> models.Q:
    """Beds that take a new patient or reservation: available, or reserved with a lapsed reservation."""
    return models.Q(**{f"{prefix}status": BedStatus.AVAILABLE}) | reservation_lapsed(now, prefix)


class BedQuerySet(models.QuerySet):
    def shown_as(self, status: str):
        """Beds whose shown status (a lapsed reservation counts as available) is `status`."""
        return self.alias(status_now=shown_status(timezone.now())).filter(status_now=status)

    def free(self):
        return self.filter(free_beds(timezone.now()))


class Bed(Timestamped):
    """A bed. `hospital` is the ward's hospital, stored again so availability filters need no join (on
    PostgreSQL a composite foreign key holds it, as it holds a ward's floor and an admission's bed in
    their hospital: migration 0004_same_hospital_foreign_keys).

    A reservation (`reserved_for`, `reserved_until`, `reservation_reason`) holds the bed for one patient
    until a time; the bed's status is then `reserved`. The manual status `reserved` (POST /status) has no
    reservation fields: a bed held for nobody in particular, until someone changes it.
    """

    ward = models.ForeignKey(Ward, on_delete=models.PROTECT, related_name="beds")
    hospital = models.ForeignKey(Hospital, on_delete=models.PROTECT, related_name="beds")
    bed_number = models.CharField(max_length=20)
    bed_type = models.CharField(max_length=20, choices=BedType.choices, default=BedType.GENERAL, db_index=True)
    status = models.CharField(max_length=20, choices=BedStatus.choices, default=BedStatus.AVAILABLE)
    reserved_for = user_reference()
    reserved_until = models.DateTimeField(null=True, blank=True)
    reservation_reason = models.CharField(max_length=500, blank=True, default="")

    objects = BedQuerySet.as_manager()

    class Meta:
        ordering = ["ward_id", "id"]
        indexes = [
            models.Index(fields=["hospital", "status"], name="bed_hospital_status"),
            # The next lapse (how long cached counts hold) is read from here.
            models.Index(
                fields=["reserved_until"], name="bed_reserved_until", condition=models.Q(reserved_until__isnull=False)
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["ward", "bed_number"], name="bed_unique_number_per_ward"),
            # The services keep this under the bed's row lock; the database is the backstop.
            models.CheckConstraint(
                condition=models.Q(reserved_for__isnull=True, reserved_until__isnull=True, reservation_reason="")
                | models.Q(reserved_for__isnull=False, reserved_until__isnull=False, status=BedStatus.RESERVED),
                name="bed_reservation_whole_and_reserved",
            ),
        ]

    def __str__(self):
        return f"bed {self.bed_number} ({self.status})"

    def reservation_lapsed(self, now=None) -> bool:
        """Held for a patient until a time that has passed (the bed is then available)."""
        return (
            self.status == BedStatus.RESERVED
            and self.reserved_until is not None
            and self.reserved_until <= (now or timezone.now())
        )

    def shown_status_at(self, now=None) -> str:
        return BedStatus.AVAILABLE if self.reservation_lapsed(now) else self.status

    @property
    def shown_status(self) -> str:
        return self.shown_status_at()

    def holds_reservation(self, now=None) -> bool:
        """Held for a patient, and not lapsed."""
        return self.reserved_for_id is not None and not self.reservation_lapsed(now)

    def clear_reservation(self) -> None:
        """Forget the reservation fields (the caller sets the status and saves)."""
        self.reserved_for, self.reserved_until, self.reservation_reason = None, None, ""


RESERVATION_FIELDS = ["reserved_for", "reserved_until", "reservation_reason"]
# How far ahead a bed may be held: a reservation bridges a transfer or a planned admission, not a booking.
MAX_RESERVATION = timedelta(days=7)


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
    admitted_by = user_reference()

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
