"""Seats kept by holds: settling lapsed holds under the slot's row lock, and the events of a hold.

A hold takes a seat by adding one to its slot's `hold_count` (under the slot's row lock); the column,
not a count of the holds, is what the booking statement and the CHECK (booked + hold_count <=
capacity) see. A hold past `expires_at` counts for nothing when read (`Slot.held`, `held_seats`), but
its seat stays in `hold_count` until a write holding the slot's row lock settles it here: every
booking on the locking path, every hold write, rescheduling into the slot and capacity changes settle
first, then compare `booked + hold_count` with the capacity. So no job is needed for correctness.
"""

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from appointments.models import Hold, Slot
from appointments.topics import holds_changed, slots_changed


def settle_lapsed_holds(slot: Slot, now=None) -> list[Hold]:
    """Mark the lapsed active holds of `slot` expired and give their seats back to `hold_count`.

    Call with the slot's row locked (select_for_update): the lock is what keeps `hold_count` equal to
    the active holds. Afterwards every active hold of the slot is ahead of `now`, so `slot.held` is
    `slot.hold_count`. Returns the holds settled (their events are emitted here; the caller emits the
    slot's, since it goes on to change the slot anyway or leaves it as it was seen by readers).
    """
    now = now or timezone.now()
    # No lock on the hold rows: every write of an active hold holds its slot's row lock, as we do.
    lapsed = list(Hold.objects.filter(slot_id=slot.pk, status=Hold.Status.ACTIVE, expires_at__lte=now).order_by("pk"))
    if lapsed:
        Hold.objects.filter(pk__in=[hold.pk for hold in lapsed]).update(status=Hold.Status.EXPIRED, updated_at=now)
        Slot.objects.filter(pk=slot.pk).update(hold_count=F("hold_count") - len(lapsed))
        slot.hold_count -= len(lapsed)
        for hold in lapsed:
            hold.status = Hold.Status.EXPIRED
        holds_changed(lapsed)
    slot.held = slot.hold_count
    return lapsed


def release_hold_seat(hold: Hold, slot: Slot) -> None:
    """Release an active hold and give its seat back to `hold_count` (the slot locked and settled; the
    caller emits the events)."""
    hold.status = Hold.Status.RELEASED
    hold.save(update_fields=["status", "updated_at"])
    Slot.objects.filter(pk=slot.pk).update(hold_count=F("hold_count") - 1)
    slot.hold_count -= 1
    slot.held = slot.hold_count


def holds_expire_lapsed(*, now=None) -> dict:
    """Settle the lapsed holds of every slot that has one, one transaction per slot under its row lock
    (as every hold write does), with the holds' and the slot's events. Idempotent: a slot settled
    meanwhile by a booking or another run has nothing left to settle."""
    now = now or timezone.now()
    slot_ids = list(
        Hold.objects.filter(status=Hold.Status.ACTIVE, expires_at__lte=now)
        .order_by("slot_id")
        .values_list("slot_id", flat=True)
        .distinct()
    )
    expired = slots = 0
    for slot_id in slot_ids:
        with transaction.atomic():
            slot = Slot.objects.select_for_update(of=("self",)).filter(pk=slot_id).first()
            lapsed = settle_lapsed_holds(slot, now=now) if slot is not None else []
            if lapsed:
                slots_changed([slot])
                expired, slots = expired + len(lapsed), slots + 1
    return {"expired": expired, "slots": slots}
