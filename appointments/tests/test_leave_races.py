"""Races on PostgreSQL (real threads, one connection each): slots added or reopened by hand while the
doctor's leave is being recorded. Each either lands first (and the leave closes it) or is refused with
409 doctor_on_leave; no open slot is ever left inside the leave."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tests.factories import UserFactory
from appointments.models import Slot
from appointments.services import leave, slots
from appointments.tests.factories import DoctorFactory, SlotFactory
from appointments.tests.test_waitlist_races import attempt
from appointments.waitlist_models import DoctorLeave
from conftest import run_together

pytestmark = pytest.mark.django_db(transaction=True)


def test_slots_added_and_reopened_while_leave_is_recorded_never_stay_open_inside_it():
    doctor = DoctorFactory()
    first = (timezone.now() + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    closed = [
        SlotFactory(
            doctor=doctor,
            status=Slot.Status.CLOSED,
            start=first + timedelta(hours=i),
            end=first + timedelta(hours=i, minutes=30),
        )
        for i in range(4)
    ]
    admin = UserFactory(role="admin", is_staff=True, is_superuser=True)
    add_calls = [
        attempt(
            lambda i=i: slots.slot_create(
                by=admin,
                doctor=doctor,
                start=first + timedelta(hours=i, minutes=30),
                end=first + timedelta(hours=i, minutes=45),
                capacity=2,
                status=Slot.Status.OPEN,
            )
        )
        for i in range(4)
    ]
    reopen_calls = [
        attempt(lambda slot=slot: slots.slot_update(by=admin, slot=slot, status=Slot.Status.OPEN)) for slot in closed
    ]
    leave_call = attempt(
        lambda: leave.leave_create(by=admin, doctor=doctor, start=first, end=first + timedelta(hours=4))
    )
    calls = [*add_calls, leave_call, *reopen_calls]
    results = run_together(calls)
    assert isinstance(results[4], tuple) and isinstance(results[4][0], DoctorLeave), results[4]
    others = results[:4] + results[5:]
    refused = [result for result in others if not isinstance(result, Slot)]
    assert all(result[:2] == ("refused", "doctor_on_leave") for result in refused), refused
    # Whatever landed before the leave was closed by it; nothing open remains inside it.
    assert not Slot.objects.filter(doctor=doctor, status=Slot.Status.OPEN).exists()
    recorded = results[4][0]
    landed_open = {result.pk for result in others if isinstance(result, Slot) and result.status == Slot.Status.OPEN}
    assert landed_open <= set(recorded.closed_slots.values_list("pk", flat=True))
    assert Slot.objects.filter(doctor=doctor).count() == len(closed) + sum(
        1 for result in results[:4] if isinstance(result, Slot)
    )
