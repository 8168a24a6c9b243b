"""Doctors, OPD schedules, slots, appointments, visits and prescriptions.

The booking invariants live in the database as well as in the services: a slot's `booked` never
exceeds its `capacity` (CHECK), nor do its booked and held seats together (CHECK on `booked +
hold_count`), a patient holds one active booking per slot (partial UNIQUE) and one active hold per
slot (partial UNIQUE), a token number is never issued twice within a slot (UNIQUE, fed by the slot's
`last_token` counter). Slots and holds are in slot_models.py, the waitlist and doctor leave in
waitlist_models.py, OPD queues in queue_models.py: all imported at the end of this module.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from hms.db_fields import text_choices, transitions, user_reference
from hms.models import Timestamped

MAX_SLOT_CAPACITY = 500
MAX_FEE = 1_000_000
MAX_GENERATE_DAYS = 90
# How far ahead slots may be created (and how far back generation may look): keeps dates sane.
MAX_DAYS_AHEAD = 730
MAX_DAYS_BACK = 366


class Doctor(Timestamped):
    """A doctor's professional profile; the account (name, login) is the linked user with role doctor."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="doctor_profile")
    hospital = models.ForeignKey("hospitals.Hospital", on_delete=models.PROTECT, related_name="doctors")
    specialization = models.CharField(max_length=100, db_index=True)
    department = models.CharField(max_length=100, blank=True, default="", db_index=True)
    qualification = models.CharField(max_length=200, blank=True, default="")
    license_number = models.CharField(max_length=64, unique=True)
    experience_years = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(80)])
    consultation_fee = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        default=0,
        validators=[MinValueValidator(0), MaxValueValidator(MAX_FEE)],
    )
    is_available = models.BooleanField(default=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(experience_years__lte=80), name="doctor_experience_range"),
            models.CheckConstraint(
                condition=Q(consultation_fee__gte=0, consultation_fee__lte=MAX_FEE), name="doctor_fee_range"
            ),
        ]

    def __str__(self):
        return f"{self.user.fullname} ({self.specialization})"


def validate_weekdays(value) -> None:
    from django.core.exceptions import ValidationError

    if (
        not isinstance(value, list)
        or not value
        or any(not isinstance(day, int) or isinstance(day, bool) or not 0 <= day <= 6 for day in value)
    ):
        raise ValidationError("Weekdays are a non-empty list of integers 0..6 (Monday=0).", code="invalid")


class OpdSchedule(Timestamped):
    """A doctor's weekly OPD hours at its hospital, in the hospital's local time; slots are generated from it."""

    hospital = models.ForeignKey("hospitals.Hospital", on_delete=models.PROTECT, related_name="opd_schedules")
    doctor = models.ForeignKey(Doctor, on_delete=models.PROTECT, related_name="opd_schedules")
    department = models.CharField(max_length=100, blank=True, default="")
    # A JSON list of weekday numbers (Monday=0): portable to SQLite, validated on the way in.
    weekdays = models.JSONField(default=list, validators=[validate_weekdays])
    start_time = models.TimeField()
    end_time = models.TimeField()
    slot_minutes = models.PositiveSmallIntegerField(
        default=15, validators=[MinValueValidator(5), MaxValueValidator(240)]
    )
    capacity_per_slot = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(MAX_SLOT_CAPACITY)]
    )
    valid_from = models.DateField()
    valid_until = models.DateField(null=True, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "OPD schedule"
        constraints = [
            models.CheckConstraint(condition=Q(end_time__gt=F("start_time")), name="opd_schedule_end_after_start"),
            models.CheckConstraint(condition=Q(slot_minutes__gte=5, slot_minutes__lte=240), name="opd_slot_minutes"),
            models.CheckConstraint(
                condition=Q(capacity_per_slot__gte=1, capacity_per_slot__lte=MAX_SLOT_CAPACITY),
                name="opd_capacity_per_slot",
            ),
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gte=F("valid_from")),
                name="opd_schedule_valid_range",
            ),
        ]

    def __str__(self):
        return f"{self.doctor} {self.start_time:%H:%M}-{self.end_time:%H:%M}"


# Refusal codes (API responses carry them; the OpenAPI description lists them).
SLOT_STARTED = "slot_started"
SLOT_NOT_STARTED = "slot_not_started"
HOSPITAL_INACTIVE = "inactive"
SLOT_CLOSED = "slot_closed"
OPD_CLOSED = "opd_closed"
DOCTOR_UNAVAILABLE = "doctor_unavailable"
SLOT_FULL = "slot_full"
ALREADY_BOOKED = "already_booked"
ALREADY_BOOKED_MESSAGE = "This patient already holds a booking in this slot."
ALREADY_HELD = "already_held"
ALREADY_HELD_MESSAGE = "This patient already holds a seat in this slot."
HOLD_EXPIRED = "hold_expired"
HOLD_USED = "hold_used"
HOLD_RELEASED = "hold_released"
ILLEGAL_TRANSITION = "illegal_transition"
APPOINTMENT_NOT_BOOKED = "appointment_not_booked"
APPOINTMENT_CLOSED = "appointment_closed"


class Appointment(Timestamped):
    Status = text_choices("Status", "booked checked_in completed cancelled no_show")

    # Statuses that hold a seat a patient could double-book; the partial unique constraint uses them.
    ACTIVE = (Status.BOOKED, Status.CHECKED_IN)
    # The whole truth about status changes (API.md section 14); `transition_refusal` is their one reader.
    # The moves of the appointment actions: check-in, cancel, complete, no-show (completed, cancelled
    # and no-show are final).
    TRANSITIONS = transitions(
        Status,
        {
            Status.BOOKED: {Status.CHECKED_IN, Status.CANCELLED, Status.NO_SHOW},
            Status.CHECKED_IN: {Status.COMPLETED, Status.NO_SHOW},
        },
    )
    # The move recording a visit makes: it completes a booked or checked-in appointment.
    VISIT_TRANSITIONS = transitions(Status, {Status.BOOKED: {Status.COMPLETED}, Status.CHECKED_IN: {Status.COMPLETED}})
    # Moves tied to the slot's start: a cancel only before it, a no-show only once it has begun.
    BEFORE_START = frozenset({Status.CANCELLED})
    AFTER_START = frozenset({Status.NO_SHOW})
    # Rescheduling moves a booked appointment, before its slot starts, to another slot.
    RESCHEDULABLE = frozenset({Status.BOOKED})

    # The foreign keys below have no single-column index: a composite index leads with each (patient:
    # appointment_patient_created; slot: appointment_token_unique_in_slot; doctor and hospital: their
    # _status indexes), which serves the same lookups; one index fewer for every booking to write.
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="appointments", db_index=False
    )
    slot = models.ForeignKey("appointments.Slot", on_delete=models.PROTECT, related_name="appointments", db_index=False)
    # Copied from the slot (and moved with it on reschedule) so visibility filters need no join.
    doctor = models.ForeignKey(Doctor, on_delete=models.PROTECT, related_name="appointments", db_index=False)
    hospital = models.ForeignKey(
        "hospitals.Hospital", on_delete=models.PROTECT, related_name="appointments", db_index=False
    )
    token_number = models.PositiveIntegerField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.BOOKED, db_index=True)
    reason = models.CharField(max_length=500, blank=True, default="")
    cancel_reason = models.CharField(max_length=500, blank=True, default="")
    booked_by = user_reference()

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["slot", "token_number"], name="appointment_token_unique_in_slot"),
            models.UniqueConstraint(
                fields=["patient", "slot"],
                condition=Q(status__in=["booked", "checked_in"]),
                name="appointment_one_active_per_patient_slot",
            ),
            models.CheckConstraint(condition=Q(token_number__gte=1), name="appointment_token_positive"),
        ]
        indexes = [
            models.Index(fields=["patient", "-created_at"], name="appointment_patient_created"),
            models.Index(fields=["doctor", "status"], name="appointment_doctor_status"),
            models.Index(fields=["hospital", "status"], name="appointment_hospital_status"),
        ]

    def __str__(self):
        return f"Appointment {self.pk} token {self.token_number} ({self.status})"

    def transition_refusal(self, status: str, *, by_visit: bool = False, now=None) -> tuple[str, str] | None:
        """Why this appointment cannot move to `status` now, as (code, sentence), or None.

        `by_visit`: the move a new visit makes (`VISIT_TRANSITIONS`), else an action's (`TRANSITIONS`).
        """
        table = self.VISIT_TRANSITIONS if by_visit else self.TRANSITIONS
        if status not in table[self.status]:
            if by_visit:
                return ILLEGAL_TRANSITION, f"A {self.status} appointment cannot get a visit."
            if status == self.Status.CANCELLED:
                return ILLEGAL_TRANSITION, f"A {self.status} appointment cannot be cancelled."
            return ILLEGAL_TRANSITION, f"A {self.status} appointment cannot become {status}."
        if status in self.BEFORE_START | self.AFTER_START:
            started = self.slot.start <= (now or timezone.now())
            if status in self.BEFORE_START and started:
                return SLOT_STARTED, "The slot has started; the appointment can no longer be cancelled."
            if status in self.AFTER_START and not started:
                return SLOT_NOT_STARTED, "A patient can be marked no-show only once the slot has started."
        return None

    def reschedule_refusal(self, now=None) -> tuple[str, str] | None:
        """Why this appointment cannot move to another slot now (the new slot answers `booking_refusal`)."""
        if self.status not in self.RESCHEDULABLE:
            return APPOINTMENT_NOT_BOOKED, f"A {self.status} appointment cannot be rescheduled."
        if self.slot.start <= (now or timezone.now()):
            return SLOT_STARTED, "The slot has started; the appointment can no longer be rescheduled."
        return None

    def change_refusal(self) -> tuple[str, str] | None:
        """Why this appointment's details (the reason) can no longer change."""
        if self.status not in self.ACTIVE:
            return APPOINTMENT_CLOSED, f"A {self.status} appointment cannot be changed."
        return None


class Visit(models.Model):
    """What happened when the patient saw the doctor; never deleted."""

    appointment = models.OneToOneField(
        Appointment, null=True, blank=True, on_delete=models.PROTECT, related_name="visit"
    )
    patient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="visits")
    doctor = models.ForeignKey(Doctor, on_delete=models.PROTECT, related_name="visits")
    hospital = models.ForeignKey("hospitals.Hospital", on_delete=models.PROTECT, related_name="visits")
    visited_at = models.DateTimeField(default=timezone.now)
    complaint = models.CharField(max_length=1000, blank=True, default="")
    diagnosis = models.CharField(max_length=2000, blank=True, default="")
    notes = models.TextField(max_length=5000, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-visited_at", "-id"]
        indexes = [
            models.Index(fields=["patient", "-visited_at"], name="visit_patient_visited"),
            models.Index(fields=["doctor", "-visited_at"], name="visit_doctor_visited"),
        ]

    def __str__(self):
        return f"Visit {self.pk} of patient {self.patient_id}"


class Prescription(models.Model):
    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, related_name="prescriptions")
    medicine = models.CharField(max_length=200)
    dosage = models.CharField(max_length=100, blank=True, default="")
    frequency = models.CharField(max_length=100, blank=True, default="")
    duration_days = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(365)]
    )
    instructions = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(duration_days__isnull=True) | Q(duration_days__gte=1, duration_days__lte=365),
                name="prescription_duration_range",
            )
        ]

    def __str__(self):
        return f"{self.medicine} {self.dosage}"


# Slots and holds, OPD queues, the waitlist and doctor leave live in their own modules (the waitlist builds
# on slots and holds: imported after them); imported here so Django and other apps find them.
from appointments.queue_models import OpdQueue, QueueEntry  # noqa: E402, F401
from appointments.slot_counts import FreeSlotCount  # noqa: E402, F401
from appointments.slot_models import Hold, Slot, SlotQuerySet, booking_refusal, held_seats  # noqa: E402, F401
from appointments.waitlist_models import DoctorLeave, WaitlistEntry  # noqa: E402, F401

# Import paths for the OpenAPI enum names (drf-spectacular cannot import nested classes).
SlotStatus = Slot.Status
AppointmentStatus = Appointment.Status
HoldStatus = Hold.Status
