"""Slots and the holds that keep their seats (API.md sections 6 and 17); imported at the end of
appointments/models.py, so Django and every `from appointments.models import Slot` find them.

`booking_refusal` is the one answer to "why can this slot not be booked"; `SlotQuerySet.bookable_q` is
its query form. A slot's seats: `booked` (appointments) and `hold_count` (holds not yet settled).
"""

from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Case, Count, F, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from appointments.models import (
    ALREADY_BOOKED,
    ALREADY_BOOKED_MESSAGE,
    DOCTOR_UNAVAILABLE,
    HOLD_EXPIRED,
    HOLD_RELEASED,
    HOLD_USED,
    HOSPITAL_INACTIVE,
    MAX_SLOT_CAPACITY,
    OPD_CLOSED,
    SLOT_CLOSED,
    SLOT_FULL,
    SLOT_STARTED,
    Appointment,
    Doctor,
    OpdSchedule,
)
from hms.db_fields import text_choices, user_reference
from hms.models import Timestamped
from hospitals.models import Hospital


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


class Slot(Timestamped):
    Status = text_choices("Status", "open closed cancelled")

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
            # columns let its page count run as an index-only scan (no heap visit per slot); `id`: the
            # held seats' subquery names the slot.
            models.Index(
                fields=["hospital", "start"],
                condition=Q(status="open"),
                include=["booked", "capacity", "doctor", "hold_count", "id"],
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


class Hold(Timestamped):
    """A seat of a slot kept for a patient for a few minutes while they confirm (API.md section 17).

    It takes a seat while `active` and `expires_at` is ahead; past `expires_at` it counts for nothing,
    whether or not a write has marked it `expired` yet. Booking from it makes it `used` (with the
    appointment); the patient or staff may release it. The waitlist offers a freed seat as a hold.
    """

    Status = text_choices("Status", "active used released expired")

    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="holds", db_index=False)
    patient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="slot_holds")
    # Copied from the slot so visibility filters need no join.
    hospital = models.ForeignKey("hospitals.Hospital", on_delete=models.PROTECT, related_name="+", db_index=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    expires_at = models.DateTimeField()
    appointment = models.OneToOneField(
        Appointment, null=True, blank=True, on_delete=models.PROTECT, related_name="hold"
    )
    held_by = user_reference()

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
