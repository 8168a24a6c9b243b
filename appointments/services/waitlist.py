"""The waitlist (API.md section 17): FIFO per doctor and hospital-local date, with an optional window of
start times; a freed seat is offered to the earliest matching waiting entry as a hold
(`WAITLIST_OFFER_MINUTES`), in the transaction that freed it.

Lock order, as on every booking path: the appointment (when one is being changed), then the slot row,
then waitlist entries. The slot's row lock is what serialises every offer of a slot's seats, and an
offer is a hold (services/holds.hold_place), so the seats it takes are counted in `hold_count` under
the CHECK (booked + hold_count <= capacity): two offers can never share a seat. Entries are taken with
SKIP LOCKED, so two slots freeing at once never offer to the same entry (nor wait on each other).

Who frees seats and calls `offer_freed_seats`: cancelling (services/bookings), rescheduling away from
a slot, raising a slot's capacity or reopening it (services/slots), releasing a hold (services/holds),
deleting a doctor's leave (services/leave), and the `expire_offers` job for offers and holds that
lapsed with no write (a no-show only happens once the slot has started, so it frees nothing to offer).
"""

from datetime import timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from rest_framework.exceptions import PermissionDenied, ValidationError

from accounts.activity import Action, record_row
from accounts.models import User
from appointments.models import DOCTOR_UNAVAILABLE, MAX_DAYS_AHEAD, Appointment, Doctor, Hold, Slot, booking_refusal
from appointments.services import booking_rules, holds
from appointments.services.seats import release_hold_seat, settle_lapsed_holds
from appointments.topics import holds_changed, slots_changed
from appointments.waitlist_models import ALREADY_WAITING, WAITLIST_CLOSED, WaitlistEntry
from feed.emit import emit_many, snapshot
from feed.topics import user_topic
from hms.api.exceptions import Conflict

Status = WaitlistEntry.Status
# How many slots one run of the job looks at (the next run takes the rest).
SWEEP_LIMIT = 500


def entry_state(entry: WaitlistEntry) -> dict:
    state = snapshot(entry, "waitlist_id", ("status", "doctor_id", "hospital_id", "date", "hold_id"))
    state["date"] = entry.date.isoformat()
    return state


def entries_changed(entries) -> None:
    """Each entry's `waitlist.<status>` event on its patient's topic (inside the changing transaction)."""
    emit_many([(user_topic(entry.patient_id), f"waitlist.{entry.status}", entry_state(entry)) for entry in entries])


def _may_act_for(by: User, entry: WaitlistEntry) -> bool:
    """The entry's patient; admin; a hospital admin or doctor of the doctor's hospital."""
    return booking_rules.may_act_for(by, patient_id=entry.patient_id, hospital_id=entry.hospital_id)


@transaction.atomic
def waitlist_join(
    *,
    by: User,
    doctor_id: int,
    date,
    from_time=None,
    to_time=None,
    patient_id: int | None = None,
) -> WaitlistEntry:
    """Put a patient in line for a seat with a doctor on a date (the hospital's local date), optionally
    for slots starting in [from_time, to_time). A patient for itself; admin, or staff of the doctor's
    hospital, for a patient. One waiting entry per patient, doctor and date (409 already_waiting)."""
    patient = booking_rules.patient_for(by=by, patient_id=patient_id)
    doctor = (
        Doctor.objects.select_related("hospital")
        .filter(pk=doctor_id, hospital__is_active=True, user__is_active=True)
        .first()
    )
    if doctor is None:
        raise ValidationError({"doctor_id": ["No doctor has this id."]}, code="does_not_exist")
    scope = booking_rules.hospital_scope(by)
    if scope is not None and scope != doctor.hospital_id:
        raise PermissionDenied("Staff put patients on their own hospital's waitlists only.")
    today = timezone.now().astimezone(ZoneInfo(doctor.hospital.timezone)).date()
    if date < today or date > today + timedelta(days=MAX_DAYS_AHEAD):
        raise ValidationError(
            {"date": [f"The date must be between today and {MAX_DAYS_AHEAD} days ahead (hospital time)."]},
            code="invalid",
        )
    if from_time is not None and to_time is not None and to_time <= from_time:
        raise ValidationError({"to_time": ["The window ends after it starts."]}, code="invalid")
    if not doctor.is_available:
        raise Conflict("The doctor is not taking appointments.", code=DOCTOR_UNAVAILABLE)
    if WaitlistEntry.objects.filter(
        patient=patient, doctor=doctor, date=date, status__in=WaitlistEntry.ACTIVE
    ).exists():
        raise Conflict("This patient is already waiting for this doctor on this date.", code=ALREADY_WAITING)
    # The partial unique constraint is the backstop under a race (409 already_waiting).
    entry = WaitlistEntry.objects.create(
        patient=patient,
        doctor=doctor,
        hospital_id=doctor.hospital_id,
        date=date,
        from_time=from_time,
        to_time=to_time,
        created_by=by,
    )
    entries_changed([entry])
    record_row(
        Action.CREATE,
        by=by,
        object_type="waitlist_entry",
        row=entry,
        detail={"doctor_id": doctor.pk, "date": date.isoformat()},
    )
    return entry


def _release_offer_hold(hold: Hold, slot: Slot) -> None:
    """Give an offer's active hold's seat back (the slot locked and settled)."""
    if hold.status != Hold.Status.ACTIVE:
        return
    release_hold_seat(hold, slot)
    holds_changed([hold])


@transaction.atomic
def waitlist_leave(*, by: User, entry: WaitlistEntry) -> WaitlistEntry:
    """Leave the line (status `left`). An offer it holds is declined: its seat passes to the next entry.
    A booked, expired or already left entry -> 409 waitlist_closed."""
    if not _may_act_for(by, entry):
        raise PermissionDenied("Only the patient or staff of the doctor's hospital may remove this entry.")
    slot = None
    slot_id = Hold.objects.filter(pk=entry.hold_id).values_list("slot_id", flat=True).first() if entry.hold_id else None
    if slot_id is not None:
        slot = booking_rules.locked_slots().select_related("doctor__user").get(pk=slot_id)
        settle_lapsed_holds(slot)
    entry = WaitlistEntry.objects.select_for_update(of=("self",)).select_related("hold").get(pk=entry.pk)
    if entry.status == Status.OFFERED and (slot is None or entry.hold.slot_id != slot.pk):
        # Offered between our first read and the entry's lock: its slot is locked now (after the entry,
        # against the usual order; offers themselves never wait for an entry, they skip locked ones).
        slot = booking_rules.locked_slots().select_related("doctor__user").get(pk=entry.hold.slot_id)
        settle_lapsed_holds(slot)
        entry.hold.refresh_from_db()
    if entry.current_status not in WaitlistEntry.ACTIVE:
        raise Conflict(f"This waitlist entry is {entry.current_status}; it is no longer in line.", code=WAITLIST_CLOSED)
    if entry.status == Status.OFFERED:
        _release_offer_hold(entry.hold, slot)
    entry.status = Status.LEFT
    entry.save(update_fields=["status", "updated_at"])
    entries_changed([entry])
    record_row(Action.ACTION, by=by, object_type="waitlist_entry", row=entry, detail={"action": "leave"})
    if slot is not None:
        slots_changed([slot])
        _offer_into(slot)
    return entry


def _next_waiting(slot: Slot) -> WaitlistEntry | None:
    """The earliest waiting entry whose window holds the slot's start and whose patient holds no booking
    or hold in it. SKIP LOCKED: an entry another slot is offering to right now is passed over."""
    local_start = slot.start.astimezone(slot.zone).time()
    busy = Q(
        Exists(
            Appointment.objects.filter(
                slot_id=slot.pk, patient_id=OuterRef("patient_id"), status__in=Appointment.ACTIVE
            )
        )
    ) | Q(Exists(Hold.objects.filter(slot_id=slot.pk, patient_id=OuterRef("patient_id"), status=Hold.Status.ACTIVE)))
    return (
        WaitlistEntry.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("patient")
        .filter(doctor_id=slot.doctor_id, date=slot.local_date, status=Status.WAITING, patient__is_active=True)
        .filter(Q(from_time__isnull=True) | Q(from_time__lte=local_start))
        .filter(Q(to_time__isnull=True) | Q(to_time__gt=local_start))
        .exclude(busy)
        .order_by("id")
        .first()
    )


def _offer_into(slot: Slot, now=None) -> list[WaitlistEntry]:
    """Offer each free seat of a locked, settled slot to the next matching waiting entry."""
    now = now or timezone.now()
    offered = []
    minutes = settings.WAITLIST_OFFER_MINUTES
    while booking_refusal(slot, now) is None:
        entry = _next_waiting(slot)
        if entry is None:
            break
        hold = holds.hold_place(by=None, slot=slot, patient=entry.patient, minutes=minutes, now=now)
        entry.status, entry.hold, entry.offered_at = Status.OFFERED, hold, now
        entry.save(update_fields=["status", "hold", "offered_at", "updated_at"])
        offered.append(entry)
        emit_many(
            [
                (
                    user_topic(entry.patient_id),
                    "waitlist.offered",
                    {
                        **entry_state(entry),
                        "doctor": slot.doctor.user.fullname,
                        "slot_id": slot.pk,
                        "start": slot.start,
                        "expires_at": hold.expires_at,
                    },
                )
            ]
        )
        record_row(
            Action.ACTION,
            by=None,
            object_type="waitlist_entry",
            row=entry,
            detail={"action": "offer", "slot_id": slot.pk, "hold_id": hold.pk},
        )
    return offered


def offer_freed_seats(*, slot_id: int, now=None) -> list[WaitlistEntry]:
    """Offer a slot's free seats to its waiting entries. Call inside the transaction that freed a seat,
    after the change (the caller holds the slot's row lock, or takes it here after its own locks)."""
    waiting = WaitlistEntry.objects.filter(
        doctor_id=OuterRef("doctor_id"), date=OuterRef("local_date"), status=Status.WAITING
    )
    if not Slot.objects.filter(pk=slot_id).filter(Exists(waiting)).exists():
        return []
    slot = booking_rules.locked_slots().select_related("doctor__user").get(pk=slot_id)
    settle_lapsed_holds(slot, now=now)
    return _offer_into(slot, now=now)


def hold_used(hold: Hold) -> None:
    """Booking from an offer's hold books the entry (the slot locked by the booking)."""
    entry = WaitlistEntry.objects.select_for_update(of=("self",)).filter(hold_id=hold.pk, status=Status.OFFERED).first()
    if entry is not None:
        entry.status = Status.BOOKED
        entry.save(update_fields=["status", "updated_at"])
        entries_changed([entry])


def hold_released(hold: Hold, slot: Slot) -> None:
    """A released hold's seat (the slot locked): an offer released is declined (the entry leaves the
    line); either way the seat is offered on."""
    entry = WaitlistEntry.objects.select_for_update(of=("self",)).filter(hold_id=hold.pk, status=Status.OFFERED).first()
    if entry is not None:
        entry.status = Status.LEFT
        entry.save(update_fields=["status", "updated_at"])
        entries_changed([entry])
    _offer_into(slot)


def _expire_slot_offers(slot_id: int, now) -> tuple[int, int]:
    with transaction.atomic():
        slot = booking_rules.locked_slots().select_related("doctor__user").get(pk=slot_id)
        settle_lapsed_holds(slot, now=now)
        lapsed = list(
            WaitlistEntry.objects.select_for_update(of=("self",))
            .filter(status=Status.OFFERED, hold__slot_id=slot_id)
            .exclude(hold__status=Hold.Status.ACTIVE)
            .order_by("pk")
        )
        for entry in lapsed:
            entry.status = Status.EXPIRED
            entry.save(update_fields=["status", "updated_at"])
        entries_changed(lapsed)
        offered = _offer_into(slot, now=now)
        if lapsed or offered:
            slots_changed([slot])
        return len(lapsed), len(offered)


def expire_offers(now=None) -> dict:
    """The job: offers whose hold lapsed become `expired` and their seats pass to the next entry; seats
    freed with no write (a hold that lapsed) are offered to waiting entries. Idempotent: a second run
    finds nothing to do. One short transaction per slot."""
    now = now or timezone.now()
    lapsed_slots = set(
        WaitlistEntry.objects.filter(status=Status.OFFERED)
        .filter(~Q(hold__status=Hold.Status.ACTIVE) | Q(hold__expires_at__lte=now))
        .values_list("hold__slot_id", flat=True)
    )
    waiting = WaitlistEntry.objects.filter(
        doctor_id=OuterRef("doctor_id"), date=OuterRef("local_date"), status=Status.WAITING
    )
    free_slots = set(
        Slot.objects.bookable(now).filter(Exists(waiting)).order_by("start").values_list("pk", flat=True)[:SWEEP_LIMIT]
    )
    expired = offered = 0
    for slot_id in sorted(lapsed_slots | free_slots):
        slot_expired, slot_offered = _expire_slot_offers(slot_id, now)
        expired += slot_expired
        offered += slot_offered
    return {"expired": expired, "offered": offered}
