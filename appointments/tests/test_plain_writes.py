"""The hot writes' plain paths (issue 18's throughput): a plain body (ids, a short plain text) is read
without its input serializer, and the hold, the booking and the called entry are answered by
functions (hold_out, appointment_out, queue_entry_out) instead of their output serializers. Same
values, same answers as the serializers give, body by body and object by object; any other body is
left to the serializer, which words the refusal."""

from datetime import date, timedelta

import pytest
from django.http import QueryDict
from django.utils import timezone

from appointments import services
from appointments.holds import HoldCreateIn, HoldOut, hold_out
from appointments.models import Appointment, Hold
from appointments.queue_models import OpdQueue, QueueEntry
from appointments.queue_selectors import local_today
from appointments.queue_serializers import CallIn, QueueEntryOut, queue_entry_out
from appointments.serializers import AppointmentOut
from appointments.serializers.bookings import AppointmentCreateIn, appointment_out
from appointments.services import queues as queue_services
from appointments.tests.factories import AppointmentFactory, HoldFactory, SlotFactory
from conftest import client_for

pytestmark = pytest.mark.django_db

MAX_ID = 2**63 - 1
BODIES = [
    {},
    {"hold_id": 5},
    {"hold_id": 1, "slot_id": MAX_ID, "hospital_id": 3, "patient_id": 4},
    {"slot_id": 7},
    {"slot_id": 7, "reason": "cough"},
    {"hold_id": True},
    {"hold_id": 5.0},
    {"hold_id": "5"},
    {"hold_id": 0},
    {"hold_id": MAX_ID + 1},
    {"hold_id": None},
    {"hospital_id": 3},
    {"patient_id": 9},
    {"patient_id": -1},
    {"unknown": 1},
    {"room": "Room 1"},
    {"room": ""},
    {"room": " Room 1"},
    {"room": "Room 1\n"},
    {"room": "x" * 50},
    {"room": "x" * 51},
    {"room": "Zimmer \u00e4"},
    {"room": "a\x00b"},
    {"room": None},
    {"room": 5},
    {"room": "A", "unknown": 1},
    [],
    ["hold_id"],
    "text",
    QueryDict(""),
    QueryDict("hold_id=5"),
    QueryDict("room=A"),
]


@pytest.mark.parametrize("serializer_class", [AppointmentCreateIn, HoldCreateIn, CallIn])
@pytest.mark.parametrize("body", BODIES, ids=[repr(body)[:40] for body in BODIES])
def test_a_plain_body_reads_as_its_serializer_validates_it(serializer_class, body):
    values = serializer_class.plain(body)
    if values is None:
        return  # the serializer decides
    data = serializer_class(data=body)
    assert data.is_valid(), data.errors
    assert values == dict(data.validated_data)


def test_plain_bodies_are_the_hot_writes_ones():
    assert AppointmentCreateIn.plain({"hold_id": 5}) == {"hold_id": 5, "reason": ""}
    assert AppointmentCreateIn.plain({"slot_id": 5}) == {"slot_id": 5, "reason": ""}
    assert HoldCreateIn.plain({}) == {} and HoldCreateIn.plain(QueryDict("")) == {}
    assert CallIn.plain({"room": "Room 1"}) == {"room": "Room 1"}
    for body in ({"hold_id": True}, {"hold_id": "5"}, {"reason": "r"}, QueryDict("hold_id=5")):
        assert AppointmentCreateIn.plain(body) is None
    assert CallIn.plain({"room": " Room 1"}) is None


def test_answers_are_the_serializers_for_each_object(doctor, patient, other_patient, hospital_admin):
    slot = SlotFactory(doctor=doctor)
    held = services.hold_create(by=patient, slot_id=slot.pk)  # as the statement (or locking path) built it
    booked = services.hold_book(by=patient, hold_id=held.pk)
    plain_booking = services.appointment_book(by=other_patient, slot_id=SlotFactory(doctor=doctor).pk)
    stored = [Appointment.objects.select_related("patient", "doctor__user", "slot", "hospital").get(pk=a.pk)
              for a in (booked, plain_booking)]  # fmt: skip
    for appointment in [booked, plain_booking, *stored, AppointmentFactory(slot=slot, patient=other_patient)]:
        assert appointment_out(appointment) == AppointmentOut(appointment).data
    lapsed = HoldFactory(slot=SlotFactory(doctor=doctor), patient=patient)
    Hold.objects.filter(pk=lapsed.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    holds = [held, Hold.objects.get(pk=held.pk), Hold.objects.get(pk=lapsed.pk)]
    assert holds[2].current_status == Hold.Status.EXPIRED
    for hold in holds:
        assert hold_out(hold) == HoldOut(hold).data
    queue = OpdQueue.objects.create(doctor=doctor, hospital=doctor.hospital, date=local_today(doctor.hospital.timezone))
    added = queue_services.queue_entry_add(by=hospital_admin, queue=queue, name="Walk In")
    waiting = QueueEntry.objects.create(queue=queue, token=2001, name="Later")
    queue = OpdQueue.objects.select_related("hospital").get(pk=queue.pk)
    called = queue_services.queue_call_next(by=hospital_admin, queue=queue, room="3")
    assert called.pk == added.pk and called.called_at is not None
    for entry in (called, QueueEntry.objects.get(pk=added.pk), waiting, QueueEntry.objects.get(pk=waiting.pk)):
        assert queue_entry_out(entry) == QueueEntryOut(entry).data


def test_the_views_answer_as_the_serializers_would(doctor, patient, hospital_admin):
    client = client_for(patient)
    slot = SlotFactory(doctor=doctor)
    response = client.post(f"/api/v1/slots/{slot.pk}/hold", {}, format="json")
    assert response.status_code == 201
    assert response.json() == HoldOut(Hold.objects.get(pk=response.json()["id"])).data
    response = client.post("/api/v1/appointments", {"hold_id": response.json()["id"]}, format="json")
    assert response.status_code == 201
    stored = Appointment.objects.select_related("patient", "doctor__user", "slot", "hospital")
    assert response.json() == AppointmentOut(stored.get(pk=response.json()["id"])).data
    queue = OpdQueue.objects.create(doctor=doctor, hospital=doctor.hospital, date=local_today(doctor.hospital.timezone))
    QueueEntry.objects.create(queue=queue, token=1001, name="Walk In")
    response = client_for(hospital_admin).post(f"/api/v1/queues/{queue.pk}/call-next", {"room": "3"}, format="json")
    assert response.status_code == 200
    assert response.json() == QueueEntryOut(QueueEntry.objects.get(pk=response.json()["id"])).data


def test_bodies_the_plain_path_leaves_are_refused_as_before(doctor, patient, hospital_admin):
    client = client_for(patient)
    slot = SlotFactory(doctor=doctor)
    response = client.post("/api/v1/appointments", {"hold_id": True}, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["attr"] == "hold_id"
    response = client.post(f"/api/v1/slots/{slot.pk}/hold", {"patient_id": "1"}, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["attr"] == "patient_id"
    queue = OpdQueue.objects.create(doctor=doctor, hospital=doctor.hospital, date=date(2099, 1, 1))
    response = client_for(hospital_admin).post(f"/api/v1/queues/{queue.pk}/call-next", {"room": 5}, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["attr"] == "room"
