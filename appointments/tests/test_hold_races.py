"""Holds and bookings racing on PostgreSQL: threads released together, each on its own connection.
Whatever the mix, a slot never has more seats taken (booked + active holds) than its capacity, and its
counters equal its rows."""

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from accounts.tests.factories import UserFactory
from appointments.models import Appointment, Hold, Slot
from appointments.tests.factories import SlotFactory
from conftest import client_for, run_together

pytestmark = pytest.mark.django_db(transaction=True)


def _seats_taken(slot_id: int) -> int:
    """Seats taken as the rows say (not the counters): active appointments, then active holds not lapsed.
    Appointments are only added in these races, so reading them first never counts a seat twice."""
    booked = Appointment.objects.filter(slot_id=slot_id, status__in=Appointment.ACTIVE).count()
    holds = Hold.objects.filter(slot_id=slot_id, status=Hold.Status.ACTIVE, expires_at__gt=timezone.now())
    return booked + holds.count()


def _assert_counters_equal_rows(slot: Slot) -> None:
    slot.refresh_from_db()
    assert slot.booked == Appointment.objects.filter(slot=slot, status__in=Appointment.ACTIVE).count()
    assert slot.hold_count == Hold.objects.filter(slot=slot, status=Hold.Status.ACTIVE).count()
    assert slot.booked + slot.hold_count <= slot.capacity
    tokens = list(Appointment.objects.filter(slot=slot).order_by("token_number").values_list("token_number", flat=True))
    assert tokens == list(range(1, len(tokens) + 1))


def _mix(slot_id: int, count: int):
    """Per thread: hold only, hold then book from the hold, or book directly, in turn."""
    clients = [client_for(UserFactory()) for _ in range(count)]
    outcomes: list = []
    peak = {"seats": 0}
    lock = threading.Lock()

    def watch() -> None:
        taken = _seats_taken(slot_id)
        with lock:
            peak["seats"] = max(peak["seats"], taken)

    def call(index: int, client):
        def run():
            kind = ("hold", "hold_then_book", "book")[index % 3]
            if kind == "book":
                response = client.post("/api/v1/appointments", {"slot_id": slot_id}, format="json")
                watch()
                outcomes.append((kind, response.status_code))
                return response
            held = client.post(f"/api/v1/slots/{slot_id}/hold", {}, format="json")
            watch()
            if kind == "hold" or held.status_code != 201:
                outcomes.append((kind, held.status_code))
                return held
            booked = client.post("/api/v1/appointments", {"hold_id": held.json()["id"]}, format="json")
            watch()
            outcomes.append(("booked_from_hold", booked.status_code))
            return booked

        return run

    return [call(index, client) for index, client in enumerate(clients)], outcomes, peak


@pytest.mark.usefixtures("booking_path")
def test_fifty_threads_holding_and_booking_never_take_more_than_five_seats(doctor):
    slot = SlotFactory(doctor=doctor, capacity=5)
    calls, outcomes, peak = _mix(slot.pk, 50)
    responses = run_together(calls)
    assert {response.status_code for response in responses} <= {201, 409}
    assert peak["seats"] <= 5
    # Every seat was taken by someone (a hold, or a booking direct or from a hold).
    assert sum(1 for response in responses if response.status_code == 201) == 5
    _assert_counters_equal_rows(slot)
    slot.refresh_from_db()
    assert slot.booked + slot.hold_count == 5
    # A booking from one's own hold never fails: the hold had the seat.
    from_holds = [status for kind, status in outcomes if kind == "booked_from_hold"]
    assert all(status == 201 for status in from_holds)
    assert Hold.objects.filter(slot=slot, status=Hold.Status.USED).count() == len(from_holds)


@pytest.mark.usefixtures("booking_path")
def test_holds_and_bookings_racing_for_seats_freed_by_lapsed_holds(settings, doctor):
    """Three seats held, lapsed (no job ran): thirty threads hold and book into them at once."""
    settings.HOLD_MINUTES = 5
    slot = SlotFactory(doctor=doctor, capacity=3)
    for _ in range(3):
        assert client_for(UserFactory()).post(f"/api/v1/slots/{slot.pk}/hold", {}, format="json").status_code == 201
    calls, _outcomes, peak = _mix(slot.pk, 30)
    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        responses = run_together(calls)
        assert peak["seats"] <= 3
        assert sum(1 for response in responses if response.status_code == 201) == 3
        _assert_counters_equal_rows(slot)
        assert Hold.objects.filter(slot=slot, status=Hold.Status.EXPIRED).count() == 3


@pytest.mark.usefixtures("booking_path")
def test_one_patient_racing_to_hold_a_slot_holds_once(patient, doctor):
    slot = SlotFactory(doctor=doctor, capacity=5)
    client = client_for(patient)
    responses = run_together(
        [lambda: client.post(f"/api/v1/slots/{slot.pk}/hold", {}, format="json") for _ in range(8)]
    )
    assert sorted(response.status_code for response in responses) == [201] + [409] * 7
    assert {response.json()["errors"][0]["code"] for response in responses if response.status_code == 409} == {
        "already_held"
    }
    _assert_counters_equal_rows(slot)


def test_releases_and_bookings_from_one_hold_race_to_one_outcome(patient, doctor):
    slot = SlotFactory(doctor=doctor, capacity=1)
    client = client_for(patient)
    hold_id = client.post(f"/api/v1/slots/{slot.pk}/hold", {}, format="json").json()["id"]
    calls = [
        (lambda: client.post("/api/v1/appointments", {"hold_id": hold_id}, format="json"))
        if index % 2
        else (lambda: client.delete(f"/api/v1/holds/{hold_id}"))
        for index in range(10)
    ]
    responses = run_together(calls)
    assert sum(1 for response in responses if response.status_code in (201, 204)) == 1
    _assert_counters_equal_rows(slot)
    connection.close()
