"""Booking from a hold (one statement: slot row, then the hold claimed while still active) racing with
releasing the same hold and with the patient's second booking of it, on PostgreSQL with real threads:
exactly one wins, the loser gets the answer of the state the winner left, and the slot's counters
equal its rows."""

import pytest

from accounts.tests.factories import UserFactory
from appointments.models import Appointment, Hold
from appointments.tests.factories import SlotFactory
from conftest import client_for, run_together

pytestmark = pytest.mark.django_db(transaction=True)


def _counters_equal_rows(slot) -> None:
    slot.refresh_from_db()
    assert slot.booked == Appointment.objects.filter(slot=slot, status__in=Appointment.ACTIVE).count()
    assert slot.hold_count == Hold.objects.filter(slot=slot, status=Hold.Status.ACTIVE).count()


def test_booking_and_releasing_one_hold_at_once_one_wins(doctor):
    slot = SlotFactory(doctor=doctor, capacity=8)
    for _round in range(6):
        patient = UserFactory()
        booker, releaser = client_for(patient), client_for(patient)
        hold_id = booker.post(f"/api/v1/slots/{slot.pk}/hold", {}, format="json").json()["id"]
        booked, released = run_together(
            [
                lambda: booker.post("/api/v1/appointments", {"hold_id": hold_id}, format="json"),
                lambda: releaser.delete(f"/api/v1/holds/{hold_id}"),
            ]
        )
        hold = Hold.objects.get(pk=hold_id)
        if booked.status_code == 201:
            assert released.status_code == 409 and released.json()["errors"][0]["code"] == "hold_used"
            assert hold.status == "used" and hold.appointment_id == booked.json()["id"]
        else:
            assert released.status_code == 204, released.content
            assert booked.status_code == 409 and booked.json()["errors"][0]["code"] == "hold_released"
            assert hold.status == "released" and hold.appointment_id is None
        _counters_equal_rows(slot)


def test_one_hold_booked_twice_at_once_makes_one_appointment(doctor):
    slot = SlotFactory(doctor=doctor, capacity=5)
    patient = UserFactory()
    hold_id = client_for(patient).post(f"/api/v1/slots/{slot.pk}/hold", {}, format="json").json()["id"]
    clients = [client_for(patient) for _ in range(6)]
    responses = run_together(
        [lambda c=c: c.post("/api/v1/appointments", {"hold_id": hold_id}, format="json") for c in clients]
    )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] + [409] * 5
    codes = {r.json()["errors"][0]["code"] for r in responses if r.status_code == 409}
    assert codes <= {"hold_used", "already_booked"}
    assert Appointment.objects.filter(slot=slot).count() == 1
    _counters_equal_rows(slot)
