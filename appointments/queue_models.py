"""OPD queues (API.md section 17): one per doctor and hospital-local date, with token-numbered entries.

Tokens. An appointment's `token_number` is numbered per slot (the slot's `last_token` counter), so
a day's appointments already carry small numbers (1, 2, ... in each slot), and the contract has a
checked-in appointment join the queue with that very number. Walk-ins therefore draw from their own
series of the queue, starting at `WALK_IN_TOKEN_START` (1001, 1002, ...: above any slot's tokens,
whose capacity is at most 500), from the queue's `last_walk_in_token` counter, incremented under the
queue's row lock: a walk-in number is never issued twice, even after the entry leaves. The database
keeps that as the backstop: walk-in tokens are unique per queue and never below the start, and an
appointment joins a queue at most once (one-to-one). Two appointments of different slots may share
a number (they share it on their appointment slips too); the board then tells them apart by time.
"""

from django.conf import settings
from django.db import models
from django.db.models import Case, Q, Value, When

from appointments.models import ILLEGAL_TRANSITION, Appointment, Doctor
from hms.db_fields import text_choices, user_reference
from hms.models import Timestamped

WALK_IN_TOKEN_START = 1001


class OpdQueue(Timestamped):
    """The OPD queue of one doctor on one hospital-local date."""

    doctor = models.ForeignKey(Doctor, on_delete=models.PROTECT, related_name="queues", db_index=False)
    # The doctor's hospital, copied so the board and visibility filter one table.
    hospital = models.ForeignKey("hospitals.Hospital", on_delete=models.PROTECT, related_name="+", db_index=False)
    date = models.DateField()
    # Where the last call sent the patient: the board's `room`, and the default for the next call.
    room = models.CharField(max_length=50, blank=True, default="")
    # The highest walk-in token ever issued here (WALK_IN_TOKEN_START - 1 before the first).
    last_walk_in_token = models.PositiveIntegerField(default=WALK_IN_TOKEN_START - 1)

    class Meta:
        ordering = ["date", "id"]
        verbose_name = "OPD queue"
        constraints = [
            models.UniqueConstraint(fields=["doctor", "date"], name="queue_one_per_doctor_date"),
            models.CheckConstraint(
                condition=Q(last_walk_in_token__gte=WALK_IN_TOKEN_START - 1), name="queue_walk_in_counter_range"
            ),
        ]
        indexes = [models.Index(fields=["hospital", "date"], name="queue_hospital_date")]

    def __str__(self):
        return f"Queue of {self.doctor} on {self.date}"


class QueueEntry(Timestamped):
    Priority = text_choices("Priority", "normal senior urgent")
    Status = text_choices("Status", "waiting called in_consultation done skipped left")

    # The entry actions (`POST .../entries/{id}/<action>`): from which statuses each moves, and where.
    # call-next moves the first waiting entry to `called`; an appointment marked no-show leaves.
    ACTIONS = {
        "skip": ({Status.WAITING, Status.CALLED}, Status.SKIPPED),
        "recall": ({Status.CALLED, Status.SKIPPED}, Status.CALLED),
        "start": ({Status.CALLED}, Status.IN_CONSULTATION),
        "done": ({Status.IN_CONSULTATION}, Status.DONE),
    }
    # Statuses that still have a place in the queue (an appointment leaving is recorded from these).
    OPEN = (Status.WAITING, Status.CALLED, Status.SKIPPED)
    # Statuses of the patient being seen: `now_serving` is the latest called of these.
    SERVING = (Status.CALLED, Status.IN_CONSULTATION)

    queue = models.ForeignKey(OpdQueue, on_delete=models.PROTECT, related_name="entries", db_index=False)
    token = models.PositiveIntegerField()
    appointment = models.OneToOneField(
        Appointment, null=True, blank=True, on_delete=models.PROTECT, related_name="queue_entry"
    )
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="queue_entries"
    )
    name = models.CharField(max_length=200, blank=True, default="")
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    # Call order within the waiting entries: urgent, then senior, then normal (then token). Computed by
    # the database, so an edit of `priority` anywhere keeps it right.
    rank = models.GeneratedField(
        expression=Case(
            When(priority="urgent", then=Value(0)),
            When(priority="senior", then=Value(1)),
            default=Value(2),
        ),
        output_field=models.SmallIntegerField(),
        db_persist=True,
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.WAITING)
    room = models.CharField(max_length=50, blank=True, default="")
    called_at = models.DateTimeField(null=True, blank=True)
    added_by = user_reference()

    class Meta:
        ordering = ["queue", "token", "id"]
        verbose_name_plural = "queue entries"
        constraints = [
            models.UniqueConstraint(
                fields=["queue", "token"],
                condition=Q(appointment__isnull=True),
                name="queue_entry_walk_in_token_unique",
            ),
            models.CheckConstraint(
                condition=Q(appointment__isnull=False) | Q(token__gte=WALK_IN_TOKEN_START),
                name="queue_entry_walk_in_token_range",
            ),
            models.CheckConstraint(condition=Q(token__gte=1), name="queue_entry_token_positive"),
            models.CheckConstraint(
                condition=Q(called_at__isnull=False) | Q(status="waiting") | Q(status="left") | Q(status="skipped"),
                name="queue_entry_called_has_time",
            ),
        ]
        indexes = [
            # call-next: a queue's waiting entries in call order.
            models.Index(
                fields=["queue", "rank", "token", "id"], condition=Q(status="waiting"), name="queue_entry_next"
            ),
            models.Index(fields=["queue", "status"], name="queue_entry_queue_status"),
            # now serving (the board, queue reads, call-next's event): a queue's latest call still being
            # served, read backwards as one row however many the day has called.
            models.Index(
                fields=["queue", "called_at", "id"],
                condition=Q(status__in=["called", "in_consultation"]),
                name="queue_entry_serving",
            ),
        ]

    def __str__(self):
        return f"Token {self.token} ({self.status})"

    def action_refusal(self, action: str) -> tuple[str, str] | None:
        """Why `action` cannot move this entry now, as (code, sentence), or None."""
        sources, _target = self.ACTIONS[action]
        if self.status not in sources:
            return ILLEGAL_TRANSITION, f"A {self.status.replace('_', ' ')} entry cannot be given '{action}'."
        return None


# Import paths for the OpenAPI enum names (drf-spectacular cannot import nested classes).
QueueEntryStatus = QueueEntry.Status
QueueEntryPriority = QueueEntry.Priority
