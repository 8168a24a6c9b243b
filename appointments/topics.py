"""The scheduling topics of the change feed (API.md section 15) and the events slot, booking and hold
changes emit. The booking statement (services/bookings.BOOK_SQL) writes the slot and booking shapes
in SQL."""

from datetime import timedelta

from django.utils import timezone

from appointments.models import Appointment, Doctor, Hold, OpdSchedule, Prescription, Slot, Visit
from feed.emit import emit_many, snapshot
from feed.topics import register, user_topic
from hms.api.readcache import model_topics
from hospitals.topics import hospital_shown, hospital_topic

SNAPSHOT_DAYS = 7
SNAPSHOT_MAX_SLOTS = 500


def slots_topic(hospital_id: int) -> str:
    return f"hospital.{hospital_id}.slots"


def slot_list_topics(hospital_id: int) -> list[str]:
    """What one hospital's slot listings depend on, for the read cache."""
    return [slots_topic(hospital_id), hospital_topic(hospital_id)]


def slot_state(slot: Slot) -> dict:
    """`held`: seats of active holds not yet lapsed (a slot read `with_held()`, or locked and settled)."""
    held = getattr(slot, "held", 0)
    return {
        "slot_id": slot.pk,
        "doctor_id": slot.doctor_id,
        "start": slot.start,
        "capacity": slot.capacity,
        "booked": slot.booked,
        "held": held,
        "available": max(slot.capacity - slot.booked - held, 0),
        "status": slot.status,
    }


def appointment_state(appointment) -> dict:
    return snapshot(appointment, "appointment_id", ("status", "slot_id", "doctor_id", "hospital_id", "token_number"))


def hold_state(hold: Hold) -> dict:
    return snapshot(hold, "hold_id", ("status", "slot_id", "patient_id", "hospital_id", "expires_at"))


def holds_changed(holds) -> None:
    """Each hold's `hold.<status>` event on its patient's topic (inside the transaction that changed it)."""
    emit_many([(user_topic(hold.patient_id), f"hold.{hold.status}", hold_state(hold)) for hold in holds])


def slots_changed(slots) -> None:
    """Call inside the transaction that changed these slots (rows re-read after the change)."""
    emit_many([(slots_topic(slot.hospital_id), "slot.changed", slot_state(slot)) for slot in slots])


def appointment_changed(appointment, *, what: str, slot_ids=()) -> None:
    """An appointment booked, cancelled, moved, ...: its patient's topic, and the slots whose seats
    changed (re-read, as the change left them)."""
    slots = Slot.objects.filter(pk__in=list(slot_ids)).with_held().order_by("pk") if slot_ids else []
    events = [(slots_topic(slot.hospital_id), "slot.changed", slot_state(slot)) for slot in slots]
    events.append((user_topic(appointment.patient_id), f"appointment.{what}", appointment_state(appointment)))
    emit_many(events)


def slots_state(_user, hospital_id: int) -> dict:
    """The hospital's slots of the coming week (at most 500), as `slot.changed` events carry them."""
    now = timezone.now()
    slots = Slot.objects.filter(hospital_id=hospital_id, start__gt=now, start__lt=now + timedelta(days=SNAPSHOT_DAYS))
    return {
        "hospital_id": hospital_id,
        "slots": [slot_state(slot) for slot in slots.with_held(now).order_by("start", "id")[:SNAPSHOT_MAX_SLOTS]],
    }


def queue_state(_user, hospital_id: int) -> dict:
    """The queue board (section 17): today's queues, token numbers and counts, no names."""
    from appointments.queue_selectors import queue_board

    return queue_board(hospital_id)


def register_topics() -> None:
    register("hospital.{id}.slots", public=True, allows=hospital_shown, snapshot=slots_state)
    register("hospital.{id}.queue", public=True, allows=hospital_shown, snapshot=queue_state)
    # What saves of these rows change, for the read cache (writes outside the services too: the admin).
    for model in (Slot, Appointment, Doctor, Hold):
        model_topics(model, lambda row: [slots_topic(row.hospital_id)])
    for model in (OpdSchedule, Visit, Prescription):
        model_topics(model, lambda row: [])
    from appointments.queue_models import OpdQueue, QueueEntry  # the board is read fresh, never cached

    for model in (OpdQueue, QueueEntry):
        model_topics(model, lambda row: [])
