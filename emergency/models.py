"""Ambulances (with a location history) and emergencies (with an event trail and a status machine)."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils import timezone

from hms.api.roles import Role
from hms.db_fields import text_choices, transitions, user_reference
from hms.models import Timestamped, TrailEntry
from hospitals.geo import coordinate_constraints


class Ambulance(Timestamped):
    AmbulanceType = text_choices("AmbulanceType", "basic advanced transport")
    Status = text_choices("Status", "available dispatched busy out_of_service")

    # Set through POST /ambulances/{id}/status; the other two only follow the emergency it serves.
    MANUAL_STATUSES = (Status.AVAILABLE, Status.OUT_OF_SERVICE)

    hospital = models.ForeignKey("hospitals.Hospital", on_delete=models.PROTECT, related_name="ambulances")
    vehicle_number = models.CharField(max_length=32)
    ambulance_type = models.CharField(max_length=20, choices=AmbulanceType.choices, default=AmbulanceType.BASIC)
    driver = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="ambulances"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.AVAILABLE, db_index=True)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    location_updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["hospital", "status"], name="ambulance_hospital_status")]
        constraints = [
            models.UniqueConstraint(Upper("vehicle_number"), name="ambulance_vehicle_number_ci_unique"),
            *coordinate_constraints("ambulance", paired=True),
        ]

    def __str__(self):
        return self.vehicle_number

    def clean(self):
        """Form-level check (admin site); the API checks the same in its service."""
        if self.driver_id is not None and (
            self.driver.role != Role.AMBULANCE_DRIVER or self.driver.hospital_id != self.hospital_id
        ):
            raise ValidationError({"driver": "The driver must be an ambulance_driver of the ambulance's hospital."})


class AmbulanceLocation(models.Model):
    """One position report of an ambulance; append-only history."""

    ambulance = models.ForeignKey(Ambulance, on_delete=models.PROTECT, related_name="locations")
    latitude = models.FloatField()
    longitude = models.FloatField()
    recorded_at = models.DateTimeField(default=timezone.now)
    recorded_by = user_reference()

    class Meta:
        ordering = ["-recorded_at", "-id"]
        indexes = [models.Index(fields=["ambulance", "-recorded_at"], name="ambulance_location_at")]
        constraints = coordinate_constraints("ambulance_location", paired=True)

    def __str__(self):
        return f"{self.ambulance_id} @ {self.latitude},{self.longitude}"


# Plain strings here because Meta (below) cannot see names of the class body.
OPEN_EMERGENCY_STATUSES = ("reported", "dispatched", "en_route", "on_scene", "transporting", "at_hospital")
AMBULANCE_COMMITTED_STATUSES = OPEN_EMERGENCY_STATUSES[1:]


class Emergency(Timestamped):
    EmergencyType = text_choices("EmergencyType", "accident cardiac stroke trauma maternity respiratory burn other")
    Severity = text_choices("Severity", "critical high medium low")
    Status = text_choices("Status", "reported dispatched en_route on_scene transporting at_hospital resolved cancelled")

    OPEN_STATUSES = OPEN_EMERGENCY_STATUSES
    # The moves of /status: one step forward along the list, or cancelled from any open state
    # (resolved and cancelled are final).
    TRANSITIONS = transitions(
        Status,
        {
            Status.REPORTED: {Status.CANCELLED},
            Status.DISPATCHED: {Status.EN_ROUTE, Status.CANCELLED},
            Status.EN_ROUTE: {Status.ON_SCENE, Status.CANCELLED},
            Status.ON_SCENE: {Status.TRANSPORTING, Status.CANCELLED},
            Status.TRANSPORTING: {Status.AT_HOSPITAL, Status.CANCELLED},
            Status.AT_HOSPITAL: {Status.RESOLVED, Status.CANCELLED},
        },
    )
    # The move of /dispatch, the only way into `dispatched` (it also assigns the ambulance).
    DISPATCH_TRANSITIONS = {Status.REPORTED: {Status.DISPATCHED}}
    # The moves the assigned ambulance's driver may make (the hospital's admin and admin make any legal one).
    DRIVER_TARGETS = (Status.EN_ROUTE, Status.ON_SCENE, Status.TRANSPORTING, Status.AT_HOSPITAL)
    # What the assigned ambulance becomes when the emergency enters a status.
    AMBULANCE_STATUS_FOR = {
        Status.DISPATCHED: Ambulance.Status.DISPATCHED,
        Status.EN_ROUTE: Ambulance.Status.DISPATCHED,
        Status.ON_SCENE: Ambulance.Status.BUSY,
        Status.TRANSPORTING: Ambulance.Status.BUSY,
        Status.AT_HOSPITAL: Ambulance.Status.BUSY,
        Status.RESOLVED: Ambulance.Status.AVAILABLE,
        Status.CANCELLED: Ambulance.Status.AVAILABLE,
    }

    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="reported_emergencies"
    )
    patient_name = models.CharField(max_length=150, blank=True, default="")
    contact_number = models.CharField(max_length=32)
    emergency_type = models.CharField(max_length=20, choices=EmergencyType.choices)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.MEDIUM, db_index=True)
    description = models.TextField(max_length=2000, blank=True, default="")
    address = models.CharField(max_length=500, blank=True, default="")
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    hospital = models.ForeignKey(
        "hospitals.Hospital", null=True, blank=True, on_delete=models.PROTECT, related_name="emergencies"
    )
    ambulance = models.ForeignKey(
        Ambulance, null=True, blank=True, on_delete=models.PROTECT, related_name="emergencies"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.REPORTED, db_index=True)
    # Timestamped's, indexed: the list is newest first.
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "emergencies"
        indexes = [models.Index(fields=["hospital", "status"], name="emergency_hospital_status")]
        constraints = [
            *coordinate_constraints("emergency", paired=True),
            # The backstop of dispatch: an ambulance serves at most one open emergency.
            models.UniqueConstraint(
                fields=["ambulance"],
                condition=Q(ambulance__isnull=False, status__in=OPEN_EMERGENCY_STATUSES),
                name="emergency_one_open_per_ambulance",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=AMBULANCE_COMMITTED_STATUSES) | Q(ambulance__isnull=False),
                name="emergency_dispatched_has_ambulance",
            ),
            models.CheckConstraint(
                condition=Q(latitude__isnull=False) | ~Q(address=""),
                name="emergency_has_location",
            ),
        ]

    def __str__(self):
        return f"Emergency {self.pk} ({self.emergency_type}, {self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class EmergencyEvent(TrailEntry):
    """Append-only trail of an emergency: every status change and every forward."""

    emergency = models.ForeignKey(Emergency, on_delete=models.PROTECT, related_name="events")
    status = models.CharField(max_length=20, choices=Emergency.Status.choices)
    note = models.CharField(max_length=500, blank=True, default="")
    from_hospital = models.ForeignKey(
        "hospitals.Hospital", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    to_hospital = models.ForeignKey(
        "hospitals.Hospital", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    def __str__(self):
        return f"{self.emergency_id}: {self.status} at {self.at:%Y-%m-%d %H:%M:%S}"


# Import paths for the OpenAPI enum names (drf-spectacular cannot import nested classes).
AmbulanceStatus = Ambulance.Status
EmergencyStatus = Emergency.Status
