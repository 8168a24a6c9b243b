"""Doctors, OPD schedules, slots, appointments, visits and prescriptions.

The booking invariants live in the database as well as in the services: a slot's `booked` never
exceeds its `capacity` (CHECK), nor do its booked and held seats together (CHECK on `booked +
hold_count`), a patient holds one active booking per slot (partial UNIQUE) and one active hold per
slot (partial UNIQUE), a token number is never issued twice within a slot (UNIQUE, fed by the slot's
`last_token` counter).
"""

from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Case, Count, F, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from hospitals.models import Hospital

MAX_SLOT_CAPACITY = 500
MAX_FEE = 1_000_000
MAX_GENERATE_DAYS = 90
# How far ahead slots may be created (and how far back generation may look): keeps dates sane.
MAX_DAYS_AHEAD = 730
MAX_DAYS_BACK = 366


class Doctor(models.Model):
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
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

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


class OpdSchedule(models.Model):
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
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

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


def booking_refusal(slot, now=None, *, holds: bool = False, seat_held: bool = False) -> tuple[str, str] | None:
    """Why `slot` takes no new booking, as (code, sentence), or None when it does: the one answer.
    `holds`: the patient already holds an active booking in it (checked last). `seat_held`: the
    booking comes from the patient's own hold, which already has its seat (no free seat needed).

    The booking service asks it on both of its paths (with the slot as `BOOK_SQL` saw it, or locked),
    and so do holds, rescheduling and the slot's `is_bookable`; `SlotQuerySet.bookable_q` is its query
    form (a test keeps the two in step). `slot` needs `start`, `status`, `booked`, `held` (seats of
    active holds not yet lapsed), `capacity`, `hospital.is_active`, `hospital.opd_status` and
    `doctor.is_available`. The order is the order in which refusals are reported.
    """
    if slot.start <= (now or timezone.now()):
        return SLOT_STARTED, "This slot has already started."
    if not slot.hospital.is_active:
        return HOSPITAL_INACTIVE, "The hospital is deactivated."
    if slot.status != Slot.Status.OPEN:
        return SLOT_CLOSED, f"This slot is {slot.status} and takes no bookings."
    if slot.hospital.opd_status == Hospital.OpdStatus.CLOSED:
        return OPD_CLOSED, "The hospital's OPD is closed."
    if not slot.doctor.is_available:
        return DOCTOR_UNAVAILABLE, "The doctor is not taking appointments."
    if not seat_held and slot.booked + slot.held >= slot.capacity:
        return SLOT_FULL, "This slot is full."
    if holds:
        return ALREADY_BOOKED, ALREADY_BOOKED_MESSAGE
    return None


def held_seats(now=None):
    """A slot's seats taken by active holds not yet lapsed, as a query expression. `hold_count` is never
    below that number (it also counts lapsed holds until a write settles them), so a slot whose
    `hold_count` is 0 is answered without looking at the holds."""
    active = Hold.objects.filter(slot=OuterRef("pk"), status=Hold.Status.ACTIVE, expires_at__gt=now or timezone.now())
    count = active.order_by().values("slot").annotate(seats=Count("pk")).values("seats")
    return Case(
        When(hold_count=0, then=Value(0)),
        default=Coalesce(Subquery(count, output_field=models.IntegerField()), Value(0)),
        output_field=models.IntegerField(),
    )


class SlotQuerySet(models.QuerySet):
    def bookable(self, now=None):
        """The slots for which `booking_refusal` has no answer."""
        return self.filter(self.bookable_q(now))

    def with_held(self, now=None):
        """Each slot with `held` (its seats of active holds not yet lapsed): one query for them all."""
        return self.annotate(held=held_seats(now))

    @staticmethod
    def bookable_q(now=None) -> Q:
        """`booking_refusal` as a query: each term negates one of its refusals, in its order."""
        now = now or timezone.now()
        return Q(
            start__gt=now,
            hospital__is_active=True,
            status=Slot.Status.OPEN,
            doctor__is_available=True,
            booked__lt=F("capacity") - held_seats(now),
        ) & ~Q(hospital__opd_status=Hospital.OpdStatus.CLOSED)


class Slot(models.Model):
    class Status(models.TextChoices):
        OPEN = "open"
        CLOSED = "closed"
        CANCELLED = "cancelled"

    # The hospital is the doctor's, copied here so the available-slots query filters one table.
    # No single-column indexes on these two: slot_hospital_local_date and slot_doctor_start_unique lead
    # with them (every booking rewrites the slot row's index entries, so each index costs every booking).
    hospital = models.ForeignKey("hospitals.Hospital", on_delete=models.PROTECT, related_name="slots", db_index=False)
    doctor = models.ForeignKey(Doctor, on_delete=models.PROTECT, related_name="slots", db_index=False)
    opd_schedule = models.ForeignKey(OpdSchedule, null=True, blank=True, on_delete=models.PROTECT, related_name="slots")
    start = models.DateTimeField()
    end = models.DateTimeField()
    # The start's calendar date in the hospital's time zone (what `?date=` means).
    local_date = models.DateField()
    capacity = models.PositiveIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(MAX_SLOT_CAPACITY)]
    )
    booked = models.PositiveIntegerField(default=0)
    # Seats taken by holds not yet settled: active ones, lapsed ones included until a write under the
    # slot's row lock marks them expired (services/seats.settle_lapsed_holds). A column, not a count of
    # the holds, because a booking that waited for the row lock has PostgreSQL re-check its UPDATE's
    # WHERE on the row the other transaction left, and only that row's columns are read again.
    hold_count = models.PositiveIntegerField(default=0, db_default=0)  # raw writers (COPY) may leave it out
    # Highest token ever issued here: cancelled tokens are never handed out again.
    last_token = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SlotQuerySet.as_manager()

    class Meta:
        ordering = ["start", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(booked__lte=F("capacity")), name="slot_booked_within_capacity"),
            models.CheckConstraint(
                condition=Q(booked__lte=F("capacity") - F("hold_count")), name="slot_seats_within_capacity"
            ),
            models.CheckConstraint(condition=Q(booked__gte=0), name="slot_booked_not_negative"),
            models.CheckConstraint(
                condition=Q(capacity__gte=1, capacity__lte=MAX_SLOT_CAPACITY), name="slot_capacity_range"
            ),
            models.CheckConstraint(condition=Q(last_token__gte=F("booked")), name="slot_tokens_cover_bookings"),
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="slot_end_after_start"),
            models.UniqueConstraint(fields=["doctor", "start"], name="slot_doctor_start_unique"),
        ]
        indexes = [
            # The available-slots query: open slots of a hospital (or of all) from now on. The included
            # columns let its page count run as an index-only scan (no heap visit per slot).
            models.Index(
                fields=["hospital", "start"],
                condition=Q(status="open"),
                include=["booked", "capacity", "doctor", "hold_count"],
                name="slot_open_hospital_start",
            ),
            models.Index(fields=["start"], condition=Q(status="open"), name="slot_open_start"),
            # Any status by time (today's appointments on the dashboards join through it).
            models.Index(fields=["start"], name="slot_start"),
            models.Index(fields=["hospital", "local_date"], name="slot_hospital_local_date"),
        ]

    def __str__(self):
        return f"{self.doctor} {self.start:%Y-%m-%d %H:%M} UTC"

    _held = None

    @property
    def held(self) -> int:
        """Seats of active holds not yet lapsed: the `with_held()` annotation, or what a service set on
        the locked row after settling, else counted now."""
        if self._held is None:
            self._held = (
                0
                if not self.hold_count
                else self.holds.filter(status=Hold.Status.ACTIVE, expires_at__gt=timezone.now()).count()
            )
        return self._held

    @held.setter
    def held(self, value: int) -> None:
        self._held = value

    def refresh_from_db(self, *args, **kwargs):
        self._held = None
        super().refresh_from_db(*args, **kwargs)

    @property
    def available(self) -> int:
        return max(self.capacity - self.booked - self.held, 0)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.hospital.timezone)


class Appointment(models.Model):
    class Status(models.TextChoices):
        BOOKED = "booked"
        CHECKED_IN = "checked_in"
        COMPLETED = "completed"
        CANCELLED = "cancelled"
        NO_SHOW = "no_show"

    # Statuses that hold a seat a patient could double-book; the partial unique constraint uses them.
    ACTIVE = (Status.BOOKED, Status.CHECKED_IN)
    # The whole truth about status changes (API.md section 14); `transition_refusal` is their one reader.
    # The moves of the appointment actions: check-in, cancel, complete, no-show.
    TRANSITIONS = {
        Status.BOOKED: {Status.CHECKED_IN, Status.CANCELLED, Status.NO_SHOW},
        Status.CHECKED_IN: {Status.COMPLETED, Status.NO_SHOW},
        Status.COMPLETED: set(),
        Status.CANCELLED: set(),
        Status.NO_SHOW: set(),
    }
    # The move recording a visit makes: it completes a booked or checked-in appointment.
    VISIT_TRANSITIONS = {
        Status.BOOKED: {Status.COMPLETED},
        Status.CHECKED_IN: {Status.COMPLETED},
        Status.COMPLETED: set(),
        Status.CANCELLED: set(),
        Status.NO_SHOW: set(),
    }
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
    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="appointments", db_index=False)
    # Copied from the slot (and moved with it on reschedule) so visibility filters need no join.
    doctor = models.ForeignKey(Doctor, on_delete=models.PROTECT, related_name="appointments", db_index=False)
    hospital = models.ForeignKey(
        "hospitals.Hospital", on_delete=models.PROTECT, related_name="appointments", db_index=False
    )
    token_number = models.PositiveIntegerField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.BOOKED, db_index=True)
    reason = models.CharField(max_length=500, blank=True, default="")
    cancel_reason = models.CharField(max_length=500, blank=True, default="")
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

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


class Hold(models.Model):
    """A seat of a slot kept for a patient for a few minutes while they confirm (API.md section 17).

    It takes a seat while `active` and `expires_at` is ahead; past `expires_at` it counts for nothing,
    whether or not a write has marked it `expired` yet. Booking from it makes it `used` (with the
    appointment); the patient or staff may release it. The waitlist offers a freed seat as a hold.
    """

    class Status(models.TextChoices):
        ACTIVE = "active"
        USED = "used"
        RELEASED = "released"
        EXPIRED = "expired"

    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="holds", db_index=False)
    patient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="slot_holds")
    # Copied from the slot so visibility filters need no join.
    hospital = models.ForeignKey("hospitals.Hospital", on_delete=models.PROTECT, related_name="+", db_index=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    expires_at = models.DateTimeField()
    appointment = models.OneToOneField(
        Appointment, null=True, blank=True, on_delete=models.PROTECT, related_name="hold"
    )
    held_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "slot"], condition=Q(status="active"), name="hold_one_active_per_patient_slot"
            ),
            models.CheckConstraint(
                condition=Q(status="used", appointment__isnull=False)
                | (~Q(status="used") & Q(appointment__isnull=True)),
                name="hold_used_has_appointment",
            ),
        ]
        indexes = [
            # The slot list's `held` and the settling UPDATE: a slot's active holds by expiry.
            models.Index(fields=["slot", "expires_at"], condition=Q(status="active"), name="hold_active_slot_expiry"),
            models.Index(fields=["slot", "status"], name="hold_slot_status"),
            models.Index(fields=["hospital", "status"], name="hold_hospital_status"),
        ]

    def __str__(self):
        return f"Hold {self.pk} of slot {self.slot_id} ({self.status})"

    def lapsed(self, now=None) -> bool:
        return self.status == self.Status.ACTIVE and self.expires_at <= (now or timezone.now())

    @property
    def current_status(self) -> str:
        """The status as the API shows it: an active hold past `expires_at` is expired, job or not."""
        return self.Status.EXPIRED if self.lapsed() else self.status

    def use_refusal(self, now=None) -> tuple[str, str] | None:
        """Why this hold can no longer be booked from or released, as (code, sentence), or None."""
        status = self.Status.EXPIRED if self.lapsed(now) else self.status
        if status == self.Status.EXPIRED:
            return HOLD_EXPIRED, "This hold has expired; its seat is no longer kept."
        if status == self.Status.USED:
            return HOLD_USED, "This hold was already used for a booking."
        if status == self.Status.RELEASED:
            return HOLD_RELEASED, "This hold was released."
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


# Import paths for the OpenAPI enum names (drf-spectacular cannot import nested classes).
SlotStatus = Slot.Status
AppointmentStatus = Appointment.Status
HoldStatus = Hold.Status

# The waitlist and doctor leave live in their own module; imported here so Django finds the models.
from appointments.waitlist_models import DoctorLeave, WaitlistEntry  # noqa: E402, F401
# OPD queues live in their own module; imported here so Django finds the models.
from appointments.queue_models import OpdQueue, QueueEntry  # noqa: E402, F401
