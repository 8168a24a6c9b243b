"""Real concurrency on PostgreSQL: threads released together by a barrier, each on its own connection."""

import threading
import time
from datetime import date, timedelta

import pytest
from django.db import connection, transaction

from accounts.models import User
from accounts.tests.factories import UserFactory
from appointments.models import Appointment, Doctor, Slot
from appointments.tests.factories import AppointmentFactory, OpdScheduleFactory, SlotFactory
from conftest import client_for, run_together

pytestmark = pytest.mark.django_db(transaction=True)


def _book(client, slot_id, **headers):
    def call():
        return client.post("/api/v1/appointments", {"slot_id": slot_id}, format="json", **headers)

    return call


@pytest.mark.usefixtures("booking_path")
def test_twenty_patients_racing_for_five_seats(doctor):
    slot = SlotFactory(doctor=doctor, capacity=5)
    clients = [client_for(UserFactory()) for _ in range(20)]
    responses = run_together([_book(client, slot.pk) for client in clients])
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * 5 + [409] * 15
    slot.refresh_from_db()
    assert slot.booked == 5 and slot.last_token == 5
    tokens = sorted(Appointment.objects.filter(slot=slot).values_list("token_number", flat=True))
    assert tokens == [1, 2, 3, 4, 5]
    assert sorted(r.json()["token_number"] for r in responses if r.status_code == 201) == [1, 2, 3, 4, 5]


@pytest.mark.usefixtures("booking_path")
def test_one_patient_double_submitting_with_one_key_books_once(patient, doctor):
    slot = SlotFactory(doctor=doctor, capacity=5)
    client = client_for(patient)
    key = {"HTTP_IDEMPOTENCY_KEY": "double-submit-1"}
    responses = run_together([_book(client, slot.pk, **key) for _ in range(5)])
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {201, 409} and 201 in statuses
    assert Appointment.objects.filter(patient=patient).count() == 1
    slot.refresh_from_db()
    assert slot.booked == 1
    created = [r.json() for r in responses if r.status_code == 201]
    assert all(body == created[0] for body in created)


@pytest.mark.usefixtures("booking_path")
def test_one_patient_double_submitting_without_key_still_holds_one_booking(patient, doctor):
    slot = SlotFactory(doctor=doctor, capacity=5)
    client = client_for(patient)
    responses = run_together([_book(client, slot.pk) for _ in range(5)])
    assert sorted(r.status_code for r in responses) == [201] + [409] * 4
    assert Appointment.objects.filter(patient=patient, slot=slot).count() == 1


@pytest.mark.usefixtures("booking_path")
def test_capacity_cut_racing_bookings_never_overbooks(doctor, admin_user):
    slot = SlotFactory(doctor=doctor, capacity=10)
    admin = client_for(admin_user)
    calls = [_book(client_for(UserFactory()), slot.pk) for _ in range(10)]

    def cut():
        return admin.patch(f"/api/v1/slots/{slot.pk}", {"capacity": 3}, format="json")

    responses = run_together([*calls, cut])
    slot.refresh_from_db()
    assert slot.booked <= slot.capacity
    assert Appointment.objects.filter(slot=slot).count() == slot.booked
    cut_response = responses[-1]
    if cut_response.status_code == 200:
        assert slot.capacity == 3 and slot.booked <= 3
    else:
        assert cut_response.status_code == 409 and slot.capacity == 10


@pytest.mark.usefixtures("booking_path")
def test_cancels_and_bookings_racing_keep_the_count(doctor):
    slot = SlotFactory(doctor=doctor, capacity=3)
    holders = [UserFactory() for _ in range(3)]
    booked = [AppointmentFactory(slot=slot, patient=holder) for holder in holders]
    newcomers = [client_for(UserFactory()) for _ in range(6)]
    calls = [
        (lambda client=client_for(h), pk=a.pk: client.post(f"/api/v1/appointments/{pk}/cancel"))
        for h, a in zip(holders, booked, strict=True)
    ] + [_book(client, slot.pk) for client in newcomers]
    run_together(calls)
    slot.refresh_from_db()
    active = Appointment.objects.filter(slot=slot, status="booked").count()
    assert slot.booked == active <= 3
    tokens = list(Appointment.objects.filter(slot=slot).values_list("token_number", flat=True))
    assert len(tokens) == len(set(tokens)) and slot.last_token == max(tokens)


def _while_a_booking_waits(slot, patient, change):
    """Lock `slot`'s row in a transaction of its own, let `patient`'s booking start and wait for that
    row, then `change()` the slot inside the lock and commit. Returns the booking's response."""
    locked, release = threading.Event(), threading.Event()

    def holder():
        try:
            with transaction.atomic():
                Slot.objects.select_for_update().get(pk=slot.pk)
                locked.set()
                assert release.wait(20)
                change()
        finally:
            connection.close()

    thread = threading.Thread(target=holder)
    thread.start()
    assert locked.wait(20)
    result = {}

    def booking():
        try:
            result["response"] = client_for(patient).post("/api/v1/appointments", {"slot_id": slot.pk}, format="json")
        finally:
            connection.close()

    booker = threading.Thread(target=booking)
    booker.start()
    with connection.cursor() as cursor:  # until the booking waits for the holder's row lock
        for _ in range(400):
            cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
            if cursor.fetchone()[0]:
                break
            time.sleep(0.025)
        else:
            pytest.fail("the booking never waited for the slot's row lock")
    release.set()
    thread.join(20)
    booker.join(20)
    return result["response"]


@pytest.mark.usefixtures("booking_path")
def test_slot_filled_while_a_booking_waits_for_it_is_409_full(doctor):
    slot, first = SlotFactory(doctor=doctor, capacity=1), UserFactory()
    response = _while_a_booking_waits(slot, UserFactory(), lambda: AppointmentFactory(slot=slot, patient=first))
    assert response.status_code == 409, response.content
    assert response.json()["errors"][0]["detail"] == "This slot is full."
    slot.refresh_from_db()
    assert slot.booked == 1 and list(Appointment.objects.filter(slot=slot).values_list("patient", flat=True)) == [
        first.pk
    ]


@pytest.mark.usefixtures("booking_path")
def test_same_patients_booking_committed_while_another_waits_is_409(doctor):
    slot, patient = SlotFactory(doctor=doctor, capacity=5), UserFactory()
    response = _while_a_booking_waits(slot, patient, lambda: AppointmentFactory(slot=slot, patient=patient))
    assert response.status_code == 409, response.content
    assert response.json()["errors"][0]["detail"] == "This patient already holds a booking in this slot."
    slot.refresh_from_db()
    assert slot.booked == 1 and Appointment.objects.filter(slot=slot, patient=patient).count() == 1


def test_reschedules_crossing_the_same_two_slots_do_not_deadlock(doctor):
    first, second = SlotFactory(doctor=doctor, capacity=10), SlotFactory(doctor=doctor, capacity=10)
    movers = []
    for index in range(8):
        patient = UserFactory()
        source, target = (first, second) if index % 2 else (second, first)
        appointment = AppointmentFactory(slot=source, patient=patient)
        movers.append((client_for(patient), appointment.pk, target.pk))
    responses = run_together(
        [
            (lambda c=client, pk=pk, target=target: c.patch(f"/api/v1/appointments/{pk}", {"slot_id": target}))
            for client, pk, target in movers
        ]
    )
    assert [r.status_code for r in responses] == [200] * 8
    for slot in Slot.objects.filter(pk__in=[first.pk, second.pk]):
        assert slot.booked == Appointment.objects.filter(slot=slot, status="booked").count() == 4


def test_concurrent_generate_slots_create_each_slot_once(doctor, admin_user):
    schedule = OpdScheduleFactory(doctor=doctor, slot_minutes=30)
    clients = [client_for(admin_user) for _ in range(4)]
    start = date.today() + timedelta(days=2)
    body = {"from_date": str(start), "to_date": str(start + timedelta(days=6))}
    path = f"/api/v1/opd-schedules/{schedule.pk}/generate-slots"
    responses = run_together([(lambda c=c: c.post(path, body, format="json")) for c in clients])
    assert [r.status_code for r in responses] == [200] * 4
    assert sum(r.json()["created"] for r in responses) == 7 * 6
    assert all(r.json()["created"] + r.json()["skipped"] == 42 for r in responses)
    assert Slot.objects.filter(doctor=doctor).count() == 42


def test_concurrent_doctor_creates_with_one_license_number(admin_user, hospital):
    clients = [client_for(admin_user) for _ in range(4)]

    def create(index, client):
        account = {"username": f"dr{index}", "fullname": f"Doctor {index}", "email": f"dr{index}@example.org",
                   "password": "Str0ng-Pass-2026"}  # fmt: skip
        body = {"user": account, "hospital_id": hospital.pk, "specialization": "ENT", "license_number": "SAME-1"}
        return lambda: client.post("/api/v1/doctors", body, format="json")

    responses = run_together([create(i, c) for i, c in enumerate(clients)])
    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409]
    assert Doctor.objects.filter(license_number="SAME-1").count() == 1
    # The losers' accounts were rolled back with their doctor profile.
    assert User.objects.filter(username__startswith="dr").count() == 1
