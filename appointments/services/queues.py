"""OPD queues (API.md section 17): opening a doctor's queue for a day, walk-ins, checked-in
appointments joining, call-next and the entry actions.

Locks. Every write that adds an entry takes the queue's row lock first: walk-in tokens come from the
queue's counter under it (never issued twice), and "is this patient already in the queue" is checked
under it. call-next takes no queue lock: it picks the first waiting entry with `FOR UPDATE SKIP
LOCKED`, so two desks calling at once each lock (and call) a different entry and neither waits for
the other; the entry actions lock their entry. The unique constraints (walk-in token per queue, one
entry per appointment) are the backstop. Each change emits the hospital's queue board on the public
`hospital.{id}.queue` topic (token numbers and counts only) in the same transaction.
"""

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from rest_framework.exceptions import PermissionDenied, ValidationError

from accounts.activity import Action, record, record_row
from accounts.models import User
from appointments.models import Appointment, Doctor
from appointments.queue_models import OpdQueue, QueueEntry
from appointments.queue_selectors import local_today, queue_board
from appointments.queue_statements import CALL_NEXT_SQL
from appointments.services.statement_rows import loaded, statement_params
from feed.emit import emit
from feed.topics import cached_topics
from hms.api.db import prepared_cursor
from hms.api.exceptions import Conflict
from hms.api.permissions import role_of
from hms.api.readcache import writes_committed
from hms.api.roles import STAFF_ROLES
from hospitals.access import is_admin, is_staff_of

ALREADY_QUEUED = "already_queued"
QUEUE_EMPTY = "queue_empty"
HOSPITAL_INACTIVE = "inactive"
QUEUE_CLOSED = "queue_closed"
# Databases on which call-next is one statement (FOR UPDATE SKIP LOCKED and data-modifying WITH).
ONE_STATEMENT_VENDORS = frozenset({"postgresql"})
# The entry CALL_NEXT_SQL called: its final SELECT's columns, in order (the entry's field names).
CALL_NEXT_FIELDS = (
    "id",
    "token",
    "appointment_id",
    "patient_id",
    "name",
    "priority",
    "rank",
    "room",
    "called_at",
    "added_by_id",
    "created_at",
)


def queue_topic(hospital_id: int) -> str:
    return f"hospital.{hospital_id}.queue"


def queue_changed(*, hospital_id: int) -> None:
    """Call inside the transaction that changed a queue of the hospital: the board as it now stands."""
    emit(queue_topic(hospital_id), "queue.changed", queue_board(hospital_id))


def _require_staff(by: User, hospital_id: int) -> None:
    if not is_staff_of(by, hospital_id):
        raise PermissionDenied("Only the hospital's staff or an administrator may run its queues.")


def _require_open_day(queue: OpdQueue) -> None:
    if queue.date < local_today(queue.hospital.timezone):
        raise Conflict("This queue's day is over; it takes no new entries or calls.", code=QUEUE_CLOSED)


def queue_open(*, by: User, doctor_id: int, date) -> tuple[OpdQueue, bool]:
    """The doctor's queue for `date` (the hospital's local date), created if missing: (queue, created).
    Staff of the doctor's hospital, or admin."""
    doctor = Doctor.objects.select_related("hospital").filter(pk=doctor_id).first()
    if doctor is None:
        raise ValidationError({"doctor_id": ["No doctor has this id."]}, code="does_not_exist")
    _require_staff(by, doctor.hospital_id)
    if not doctor.hospital.is_active:
        raise Conflict("The hospital is deactivated.", code=HOSPITAL_INACTIVE)
    queue = OpdQueue.objects.filter(doctor=doctor, date=date).first()
    if queue is not None:
        return queue, False
    try:
        with transaction.atomic():
            queue = OpdQueue.objects.create(doctor=doctor, hospital_id=doctor.hospital_id, date=date)
            record(action=Action.CREATE, actor=by, object_type="queue", object_id=queue.pk)
            queue_changed(hospital_id=queue.hospital_id)
    except IntegrityError:
        # A concurrent request opened it first (queue_one_per_doctor_date): answer with theirs.
        return OpdQueue.objects.get(doctor=doctor, date=date), False
    return queue, True


def _locked_queue(queue: OpdQueue) -> OpdQueue:
    return OpdQueue.objects.select_for_update(of=("self",)).select_related("hospital").get(pk=queue.pk)


def _check_not_queued(queue: OpdQueue, patient_id: int | None) -> None:
    if (
        patient_id is not None
        and QueueEntry.objects.filter(queue=queue, patient_id=patient_id, status__in=QueueEntry.OPEN).exists()
    ):
        raise Conflict("This patient is already waiting in this queue.", code=ALREADY_QUEUED)


def _add_entry(*, by: User | None, queue: OpdQueue, patient_id: int | None, **fields) -> QueueEntry:
    """An entry joins the (locked) queue: created, audited and announced on the board."""
    entry = QueueEntry.objects.create(queue=queue, patient_id=patient_id, added_by=by, **fields)
    detail = {"queue_id": queue.pk, "token": entry.token}
    if entry.appointment_id is not None:
        detail["appointment_id"] = entry.appointment_id
    record_row(Action.CREATE, by=by, object_type="queue_entry", row=entry, detail=detail)
    queue_changed(hospital_id=queue.hospital_id)
    return entry


@transaction.atomic
def queue_entry_add(
    *, by: User, queue: OpdQueue, patient_id: int | None = None, name: str = "", priority: str = "normal"
) -> QueueEntry:
    """A walk-in: the next walk-in token of the queue (never issued before). A registered patient
    (`patient_id`) or just a `name`. Staff of the queue's hospital, or admin."""
    _require_staff(by, queue.hospital_id)
    queue = _locked_queue(queue)
    _require_open_day(queue)
    patient = None
    if patient_id is not None:
        patient = User.objects.filter(pk=patient_id, is_active=True).first()
        if patient is None:
            raise ValidationError({"patient_id": ["No active account has this id."]}, code="does_not_exist")
        _check_not_queued(queue, patient.pk)
    queue.last_walk_in_token += 1
    queue.save(update_fields=["last_walk_in_token", "updated_at"])
    return _add_entry(
        by=by,
        queue=queue,
        patient_id=patient.pk if patient else None,
        token=queue.last_walk_in_token,
        name=name or (patient.fullname if patient else ""),
        priority=priority,
    )


def queue_join_checked_in(*, by: User | None, appointment: Appointment) -> QueueEntry:
    """A checked-in appointment joins its doctor's queue of the slot's local date (opened if missing)
    with the appointment's token number. Called by the check-in, inside its transaction, with the
    appointment locked; joining twice is impossible (one entry per appointment)."""
    queue, _created = OpdQueue.objects.get_or_create(
        doctor_id=appointment.doctor_id,
        date=appointment.slot.local_date,
        defaults={"hospital_id": appointment.hospital_id},
    )
    queue = _locked_queue(queue)
    existing = QueueEntry.objects.filter(appointment=appointment).first()
    if existing is not None:
        return existing
    return _add_entry(
        by=by,
        queue=queue,
        patient_id=appointment.patient_id,
        token=appointment.token_number,
        appointment=appointment,
        name=appointment.patient.fullname,
    )


def queue_settle_for_appointment(*, by: User | None, appointment: Appointment) -> None:
    """The appointment's queue entry follows it: a no-show leaves the queue (`left`, if still in it),
    a completed appointment (its action or a visit) is `done`. Called inside the appointment's
    transaction; no entry (never checked in), nothing to do."""
    if appointment.status == Appointment.Status.NO_SHOW:
        sources, target = QueueEntry.OPEN, QueueEntry.Status.LEFT
    elif appointment.status == Appointment.Status.COMPLETED:
        sources, target = (*QueueEntry.OPEN, *QueueEntry.SERVING), QueueEntry.Status.DONE
    else:
        return
    entry = (
        QueueEntry.objects.select_for_update(of=("self",))
        .filter(appointment=appointment, status__in=sources)
        .select_related("queue")
        .first()
    )
    if entry is None:
        return
    entry.status = target
    if target == QueueEntry.Status.DONE and entry.called_at is None:
        entry.called_at = timezone.now()  # seen without a call from the queue: when it was settled
    entry.save(update_fields=["status", "called_at", "updated_at"])
    record_row(
        Action.ACTION,
        by=by,
        object_type="queue_entry",
        row=entry,
        detail={"action": target, "appointment_id": appointment.pk},
    )
    queue_changed(hospital_id=entry.queue.hospital_id)


def queue_call_next(*, by: User, queue: OpdQueue, room: str = "") -> QueueEntry:
    """Call the first waiting entry: urgent, then senior, then normal, then by token. 409 queue_empty
    when nobody waits. Two desks calling at once never get the same entry (SKIP LOCKED).

    On PostgreSQL the call is one statement (appointments/queue_statements.py); elsewhere the ORM
    steps below, in one transaction."""
    _require_staff(by, queue.hospital_id)
    if not OpdQueue.hospital.is_cached(queue):
        # The view reads it with its hospital; other callers' queue is read here (no lock: see above).
        queue = OpdQueue.objects.select_related("hospital").get(pk=queue.pk)
    _require_open_day(queue)
    if connection.vendor in ONE_STATEMENT_VENDORS:
        entry = _call_next_in_one_statement(by=by, queue_id=queue.pk, room=room)
        if entry is None:  # the queue is gone
            raise Conflict("Nobody is waiting in this queue.", code=QUEUE_EMPTY)
        QueueEntry.queue.field.set_cached_value(entry, queue)
        return entry
    return _call_next_locking(by=by, queue=queue, room=room)


def queue_call_next_by_id(*, by: User, queue_id: int, room: str = "") -> QueueEntry | None:
    """call-next from the path's queue id alone (the view's hot path, PostgreSQL): one statement that
    finds the queue only if `by` may call it now (sees it, is admin or its hospital's staff, its day is
    not over) and calls its next entry; 409 queue_empty when nobody waits. None when it found no such
    queue (or on another database): the caller then takes the lookup and `queue_call_next`, which say
    why (404, 403, queue_closed)."""
    if connection.vendor not in ONE_STATEMENT_VENDORS:
        return None
    if is_admin(by):
        checked, staff_hospital = True, None
    elif role_of(by) in STAFF_ROLES:
        checked, staff_hospital = False, by.hospital_id
    else:
        return None
    return _call_next_in_one_statement(
        by=by, queue_id=queue_id, room=room, checked=checked, staff_hospital=staff_hospital
    )


def _call_next_in_one_statement(
    *, by: User, queue_id: int, room: str, checked: bool = True, staff_hospital: int | None = None
) -> QueueEntry | None:
    now = timezone.now()
    params = statement_params(by, now, queue=queue_id, room=room, checked=checked, staff_hospital=staff_hospital)
    with prepared_cursor() as cursor:
        cursor.execute(CALL_NEXT_SQL, params)
        row = cursor.fetchone()
    if row is None:
        return None  # not a queue the caller may call now (CALL_NEXT_SQL's `target`)
    hospital_id, *row = row
    if row[0] is None:
        raise Conflict("Nobody is waiting in this queue.", code=QUEUE_EMPTY)
    # The statement wrote the audit entry and the event in SQL: the cached reads they change, as
    # record() and emit() would have marked.
    writes_committed(topics=cached_topics([queue_topic(hospital_id)]))
    return loaded(
        QueueEntry,
        {},
        queue_id=queue_id,
        status=QueueEntry.Status.CALLED,
        updated_at=now,
        **dict(zip(CALL_NEXT_FIELDS, row, strict=True)),
    )


@transaction.atomic
def _call_next_locking(*, by: User, queue: OpdQueue, room: str) -> QueueEntry:
    entry = (
        QueueEntry.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(queue=queue, status=QueueEntry.Status.WAITING)
        .order_by("rank", "token", "id")
        .first()
    )
    if entry is None:
        raise Conflict("Nobody is waiting in this queue.", code=QUEUE_EMPTY)
    return _call(by=by, queue=queue, entry=entry, room=room, action="called")


def _call(*, by: User, queue: OpdQueue, entry: QueueEntry, room: str, action: str) -> QueueEntry:
    entry.status = QueueEntry.Status.CALLED
    entry.called_at = timezone.now()
    entry.room = room or entry.room or queue.room
    entry.save(update_fields=["status", "called_at", "room", "updated_at"])
    if entry.room and entry.room != queue.room:
        # The board shows the room of the latest call. A plain UPDATE (no lock held across desks).
        OpdQueue.objects.filter(pk=queue.pk).update(room=entry.room, updated_at=timezone.now())
    record_row(
        Action.ACTION,
        by=by,
        object_type="queue_entry",
        row=entry,
        detail={"action": action, "queue_id": queue.pk, "token": entry.token, "room": entry.room},
    )
    queue_changed(hospital_id=queue.hospital_id)
    return entry


@transaction.atomic
def queue_entry_act(*, by: User, entry: QueueEntry, action: str, room: str = "") -> QueueEntry:
    """skip, recall (call again: a called or skipped entry), start (the consultation), done, as
    `QueueEntry.ACTIONS` allows; anything else -> 409 illegal_transition."""
    _require_staff(by, entry.queue.hospital_id)
    entry = QueueEntry.objects.select_for_update(of=("self",)).select_related("queue__hospital").get(pk=entry.pk)
    Conflict.raise_for(entry.action_refusal(action))
    _sources, target = QueueEntry.ACTIONS[action]
    if target == QueueEntry.Status.CALLED:
        return _call(by=by, queue=entry.queue, entry=entry, room=room, action=action)
    entry.status = target
    entry.save(update_fields=["status", "updated_at"])
    record_row(
        Action.ACTION,
        by=by,
        object_type="queue_entry",
        row=entry,
        detail={"action": action, "queue_id": entry.queue_id, "token": entry.token},
    )
    queue_changed(hospital_id=entry.queue.hospital_id)
    return entry
