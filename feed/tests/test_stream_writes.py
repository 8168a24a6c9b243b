"""Writes through one host, streams from another: bookings, a racing crowd, a crash after commit."""

import threading
import time

import pytest

from accounts.tests.factories import UserFactory
from appointments.models import Appointment
from appointments.tests.factories import SlotFactory
from feed.sse_client import SSE
from feed.tests.live import Host, request
from feed.tests.live import token as _token

pytestmark = pytest.mark.django_db(transaction=True)


def _book(host, patient, slot) -> int:
    status, _ = request("POST", f"{host.base}/api/v1/appointments", {"slot_id": slot.pk}, token=_token(patient))
    return status


def test_a_booking_on_host_b_reaches_streams_on_host_a(hosts):
    first, second = hosts
    slot = SlotFactory(capacity=3)
    patient = UserFactory(role="user")
    public = SSE(f"{first.base}/api/v1/events/stream?topics=hospital.{slot.hospital_id}.slots")
    own = SSE(f"{first.base}/api/v1/events/stream?topics=user.{patient.pk}", token=_token(patient))
    time.sleep(0.3)
    assert _book(second, patient, slot) == 201
    (seat,) = public.wait_for(lambda events: len(events) >= 1)
    assert seat["type"] == "slot.changed"
    assert seat["data"] == {
        "slot_id": slot.pk,
        "doctor_id": slot.doctor_id,
        "start": slot.start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "capacity": 3,
        "booked": 1,
        "held": 0,
        "available": 2,
        "status": "open",
    }
    (booked,) = own.wait_for(lambda events: len(events) >= 1)
    appointment = Appointment.objects.get(patient=patient)
    assert booked["type"] == "appointment.booked"
    assert booked["data"]["appointment_id"] == appointment.pk and booked["data"]["status"] == "booked"
    status, _ = request(
        "POST", f"{second.base}/api/v1/appointments/{appointment.pk}/cancel", {"reason": "x"}, token=_token(patient)
    )
    assert status == 200
    freed = public.wait_for(lambda events: len(events) >= 2)[1]
    assert (freed["data"]["booked"], freed["data"]["available"]) == (0, 3)
    assert own.wait_for(lambda events: len(events) >= 2)[1]["type"] == "appointment.cancelled"
    public.close()
    own.close()


def test_two_hundred_concurrent_bookings_on_one_slot_stream_exactly_the_committed_ones(hosts):
    first, second = hosts
    slot = SlotFactory(capacity=40)
    patients = [UserFactory(role="user") for _ in range(200)]
    tokens = [_token(patient) for patient in patients]
    stream = SSE(f"{first.base}/api/v1/events/stream?topics=hospital.{slot.hospital_id}.slots")
    time.sleep(0.3)
    barrier = threading.Barrier(50)
    statuses: list[int] = []

    def book(chunk):
        barrier.wait(30)
        for token in chunk:
            code, _ = request("POST", f"{second.base}/api/v1/appointments", {"slot_id": slot.pk}, token=token)
            statuses.append(code)

    threads = [threading.Thread(target=book, args=(tokens[n::50],)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert statuses.count(201) == 40 and statuses.count(409) == 160
    events = stream.wait_for(lambda events: len(events) >= 40, timeout=20)
    time.sleep(1)
    assert len(stream.events) == 40  # nothing for the refused ones
    assert sorted(event["data"]["booked"] for event in events) == list(range(1, 41))
    assert [event["id"] for event in events] == sorted({event["id"] for event in events})
    stream.close()


def test_an_event_committed_by_a_host_killed_right_after_still_arrives(hosts):
    first, _ = hosts
    doomed = Host()
    slot = SlotFactory(capacity=2)
    patient = UserFactory(role="user")
    stream = SSE(f"{first.base}/api/v1/events/stream?topics=hospital.{slot.hospital_id}.slots")
    time.sleep(0.3)
    assert _book(doomed, patient, slot) == 201
    doomed.kill()  # kill -9 the host that wrote, as soon as the client has its answer
    (event,) = stream.wait_for(lambda events: len(events) >= 1)
    assert event["data"]["booked"] == 1
    stream.close()


def test_a_stream_host_restart_loses_nothing_for_a_client_that_resumes(hosts):
    """The host serving the stream dies (kill -9) while writes go on elsewhere; the client comes back
    to it after its restart with Last-Event-ID and gets every booking once."""
    _, second = hosts
    streaming = Host()
    slot = SlotFactory(capacity=10)
    patients = [UserFactory(role="user") for _ in range(6)]
    stream = SSE(f"{streaming.base}/api/v1/events/stream?topics=hospital.{slot.hospital_id}.slots")
    time.sleep(0.3)
    for patient in patients[:3]:
        assert _book(second, patient, slot) == 201
    stream.wait_for(lambda events: len(events) >= 3)
    streaming.kill()
    assert stream.closed.wait(5)
    for patient in patients[3:]:
        assert _book(second, patient, slot) == 201
    streaming.start()
    resumed = SSE(
        f"{streaming.base}/api/v1/events/stream?topics=hospital.{slot.hospital_id}.slots",
        last_event_id=stream.events[-1]["id"],
    )
    resumed.wait_for(lambda events: len(events) >= 3)
    booked = [event["data"]["booked"] for event in stream.events + resumed.events]
    assert booked == [1, 2, 3, 4, 5, 6]
    resumed.close()
    streaming.stop()
