"""The waitlist and doctor leave (API.md section 17); imported at the end of appointments/models.py.

A waitlist entry waits, FIFO per doctor and date (with an optional time window), for a seat to free; a
freed seat is offered to it as a hold (services/waitlist.py). A doctor's leave closes the slots it
covers and remembers which, so that deleting it reopens them (services/leave.py).
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from appointments.models import Doctor, Hold, Slot
from hms.db_fields import text_choices, transitions, user_reference
from hms.models import Timestamped

# Refusal codes (API responses carry them; the OpenAPI description lists them).
ALREADY_WAITING = "already_waiting"
WAITLIST_CLOSED = "waitlist_closed"
LEAVE_HAS_BOOKINGS = "leave_has_bookings"
LEAVE_OVERLAPS = "leave_overlaps"
LEAVE_STARTED = "leave_started"
DOCTOR_ON_LEAVE = "doctor_on_leave"


class WaitlistEntry(Timestamped):
    """A patient waiting for a seat with a doctor on a date (hospital-local), optionally within a window
    of start times (`from_time` <= local start < `to_time`). `offered`: `hold` keeps a freed seat for
    the patient until it expires; booking with it makes the entry `booked`."""

    Status = text_choices("Status", "waiting offered booked expired left")

    # Still in line: one per patient, doctor and date (the partial unique constraint).
    ACTIVE = (Status.WAITING, Status.OFFERED)
    # Booked, expired and left are final.
    TRANSITIONS = transitions(
        Status,
        {
            Status.WAITING: {Status.OFFERED, Status.LEFT},
            # Back to waiting when the offered slot closes (doctor leave) before the patient answered.
            Status.OFFERED: {Status.BOOKED, Status.EXPIRED, Status.LEFT, Status.WAITING},
        },
    )

    patient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="waitlist_entries")
    doctor = models.ForeignKey(Doctor, on_delete=models.PROTECT, related_name="waitlist_entries", db_index=False)
    # Copied from the doctor so visibility filters need no join.
    hospital = models.ForeignKey("hospitals.Hospital", on_delete=models.PROTECT, related_name="+", db_index=False)
    date = models.DateField()
    from_time = models.TimeField(null=True, blank=True)
    to_time = models.TimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING)
    # The current (or last) offer: a hold on the freed seat.
    hold = models.OneToOneField(Hold, null=True, blank=True, on_delete=models.PROTECT, related_name="waitlist_entry")
    offered_at = models.DateTimeField(null=True, blank=True)
    created_by = user_reference()

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "waitlist entries"
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "doctor", "date"],
                condition=Q(status__in=["waiting", "offered"]),
                name="waitlist_one_active_per_patient_doctor_date",
            ),
            models.CheckConstraint(
                condition=Q(from_time__isnull=True) | Q(to_time__isnull=True) | Q(to_time__gt=F("from_time")),
                name="waitlist_window_order",
            ),
            models.CheckConstraint(
                condition=~Q(status="offered") | Q(hold__isnull=False), name="waitlist_offer_has_hold"
            ),
        ]
        indexes = [
            # The offer query: the earliest waiting entry of a doctor and date.
            models.Index(fields=["doctor", "date", "id"], condition=Q(status="waiting"), name="waitlist_waiting_line"),
            models.Index(fields=["patient", "-id"], name="waitlist_patient"),
            models.Index(fields=["hospital", "-id"], name="waitlist_hospital"),
            models.Index(fields=["status"], condition=Q(status="offered"), name="waitlist_offered"),
        ]

    def __str__(self):
        return f"Waitlist {self.pk} of patient {self.patient_id} ({self.status})"

    def offer_lapsed(self, now=None) -> bool:
        """Offered, but its hold no longer keeps the seat (past `expires_at`, or settled expired)."""
        if self.status != self.Status.OFFERED or self.hold is None:
            return False
        return self.hold.status != Hold.Status.ACTIVE or self.hold.expires_at <= (now or timezone.now())

    @property
    def current_status(self) -> str:
        """The status as the API shows it: an offer whose hold has lapsed is expired, job or not."""
        return self.Status.EXPIRED if self.offer_lapsed() else self.status

    def matches(self, local_start) -> bool:
        """Whether a slot starting at `local_start` (hospital-local time of day) is inside the window."""
        return (self.from_time is None or self.from_time <= local_start) and (
            self.to_time is None or local_start < self.to_time
        )


class DoctorLeave(models.Model):
    """A doctor's absence: slots starting inside [start, end) close; `closed_slots` are the ones this leave
    closed (open when it was created), reopened when it is deleted before it starts. A deleted leave
    is kept with `deleted_at` set."""

    doctor = models.ForeignKey(Doctor, on_delete=models.PROTECT, related_name="leaves", db_index=False)
    hospital = models.ForeignKey("hospitals.Hospital", on_delete=models.PROTECT, related_name="+", db_index=False)
    start = models.DateTimeField()
    end = models.DateTimeField()
    reason = models.CharField(max_length=500, blank=True, default="")
    closed_slots = models.ManyToManyField(Slot, blank=True, related_name="closing_leaves")
    created_by = user_reference()
    created_at = models.DateTimeField(auto_now_add=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = user_reference()

    class Meta:
        ordering = ["start", "id"]
        constraints = [models.CheckConstraint(condition=Q(end__gt=F("start")), name="leave_end_after_start")]
        indexes = [
            models.Index(fields=["doctor", "start"], condition=Q(deleted_at__isnull=True), name="leave_doctor_start")
        ]

    def __str__(self):
        return f"Leave of {self.doctor_id} {self.start:%Y-%m-%d %H:%M}-{self.end:%Y-%m-%d %H:%M} UTC"


WaitlistStatus = WaitlistEntry.Status
