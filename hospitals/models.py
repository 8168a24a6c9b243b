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
