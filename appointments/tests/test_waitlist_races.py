"""Races on PostgreSQL (real threads, one connection each): cancels, direct bookings and the offers job
racing over a slot's freed seats never offer one seat twice nor take more seats than the slot has; two
slots freeing at once offer one entry once; a leave recorded while bookings arrive either lists/cancels
each booking that landed first or makes it refuse."""

import random
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.exceptions import APIException

from accounts.tests.factories import UserFactory
from appointments.models import Appointment, Hold, Slot
from appointments.services import bookings, leave, waitlist
from appointments.tests.factories import AppointmentFactory, DoctorFactory, SlotFactory
from appointments.waitlist_models import DoctorLeave, WaitlistEntry
from conftest import run_together

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("booking_path")]


def attempt(call):
    """Run a service call; its refusal's code instead of raising (a thread must not fail the run)."""

    def run():
        try:
            return call()
        except leave.LeaveHasBookings as refusal:
            return ("refused", refusal.get_codes(), refusal.bookings)
        except APIException as refusal:
            codes = refusal.get_codes()
            return ("refused", codes if isinstance(codes, str) else str(codes), None)

    return run


def assert_seat_invariants(slot) -> None:
    slot.refresh_from_db()
    active = Hold.objects.filter(slot=slot, status=Hold.Status.ACTIVE)
    booked = Appointment.objects.filter(slot=slot).exclude(status=Appointment.Status.CANCELLED).count()
    assert (slot.hold_count, slot.booked) == (active.count(), booked)
    assert slot.booked + slot.hold_count <= slot.capacity
    offered = WaitlistEntry.objects.filter(status=WaitlistEntry.Status.OFFERED, hold__slot=slot)
    # Every offer is an active hold of its own (one seat each), never one hold for two entries.
    assert offered.count() == offered.values("hold").distinct().count()
    assert set(offered.values_list("hold_id", flat=True)) <= set(active.values_list("pk", flat=True))


def test_cancels_bookings_and_the_job_racing_never_offer_one_seat_twice():
    doctor = DoctorFactory()
    slot = SlotFactory(doctor=doctor, capacity=3)
    appointments = [AppointmentFactory(slot=slot) for _ in range(3)]
    waiting = [
        WaitlistEntry.objects.create(
            patient=UserFactory(), doctor=doctor, hospital=doctor.hospital, date=slot.local_date
        )
        for _ in range(6)
    ]
    walk_ins = UserFactory.create_batch(5)
    calls = [
        attempt(lambda a=a: bookings.appointment_cancel(by=a.patient, appointment=a, reason="race"))
        for a in appointments
    ]
    calls += [attempt(lambda p=p: bookings.appointment_book(by=p, slot_id=slot.pk)) for p in walk_ins]
    calls += [attempt(waitlist.expire_offers) for _ in range(2)]
    random.shuffle(calls)
    run_together(calls)
    assert_seat_invariants(slot)
    slot.refresh_from_db()
    assert slot.booked + slot.hold_count == 3  # every freed seat went to the line or to a walk-in
    offered = set(WaitlistEntry.objects.filter(status="offered").values_list("pk", flat=True))
    # FIFO: the offers went to the earliest entries.
    assert offered == {entry.pk for entry in waiting[: len(offered)]}


def test_two_slots_freeing_at_once_offer_one_entry_once():
    for _ in range(3):
        doctor = DoctorFactory()
        slots = [SlotFactory(doctor=doctor, capacity=1) for _ in range(2)]
        booked = [AppointmentFactory(slot=slot) for slot in slots]
        entry = WaitlistEntry.objects.create(
            patient=UserFactory(), doctor=doctor, hospital=doctor.hospital, date=slots[0].local_date
        )
        run_together(
            [
                attempt(lambda a=a: bookings.appointment_cancel(by=a.patient, appointment=a, reason="race"))
                for a in booked
            ]
        )
        entry.refresh_from_db()
        assert entry.status == "offered"
        assert Hold.objects.filter(patient=entry.patient, status=Hold.Status.ACTIVE).count() == 1
        for slot in slots:
            assert_seat_invariants(slot)


@pytest.mark.parametrize("cancel_bookings", [True, False])
def test_leave_recorded_while_bookings_arrive(cancel_bookings):
    doctor = DoctorFactory()
    first = (timezone.now() + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    slots = [
        SlotFactory(
            doctor=doctor, capacity=5, start=first + timedelta(hours=i), end=first + timedelta(hours=i, minutes=30)
        )
        for i in range(3)
    ]
    patients = UserFactory.create_batch(12)
    admin = UserFactory(role="admin", is_staff=True, is_superuser=True)
    book_calls = [
        attempt(lambda p=p, s=slots[i % 3]: bookings.appointment_book(by=p, slot_id=s.pk))
        for i, p in enumerate(patients)
    ]
    leave_call = attempt(
        lambda: leave.leave_create(
            by=admin, doctor=doctor, start=first, end=first + timedelta(hours=3), cancel_bookings=cancel_bookings
        )
    )
    calls = [*book_calls]
    calls.insert(len(calls) // 2, leave_call)
    results = run_together(calls)
    leave_result = results[len(book_calls) // 2]
    booking_results = [result for index, result in enumerate(results) if index != len(book_calls) // 2]
    landed = [result for result in booking_results if isinstance(result, Appointment)]
    refused = [result for result in booking_results if not isinstance(result, Appointment)]
    assert all(result[1] in ("slot_closed",) for result in refused), refused
    active = Appointment.objects.filter(slot__in=slots, status__in=Appointment.ACTIVE)
    if isinstance(leave_result, tuple) and leave_result[0] == "refused":
        # Refused: it listed the bookings that had landed; bookings after it were free to land.
        assert not cancel_bookings
        assert leave_result[1] == "leave_has_bookings"
        listed = {row["appointment_id"] for row in leave_result[2]}
        assert listed and listed <= set(active.values_list("pk", flat=True))
        assert not DoctorLeave.objects.exists()
        assert all(Slot.objects.get(pk=slot.pk).status == "open" for slot in slots)
    else:
        recorded, cancelled = leave_result
        assert set(cancelled) == {appointment.pk for appointment in landed}
        assert not active.exists()
        for appointment in landed:
            appointment = Appointment.objects.get(pk=appointment.pk)
            assert (appointment.status, appointment.cancel_reason) == ("cancelled", "doctor unavailable")
        assert all(Slot.objects.get(pk=slot.pk).status == "closed" for slot in slots)
        assert all(Slot.objects.get(pk=slot.pk).booked == 0 for slot in slots)
        if not cancel_bookings:
            assert not landed
    for slot in slots:
        assert_seat_invariants(slot)
