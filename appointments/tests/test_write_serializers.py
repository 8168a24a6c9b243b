"""The hot writes' serializers (issue 18's throughput): inputs copy their declared fields shallowly
(hms.api.serializers.Serializer) and answers declared `shared_fields` are written with one kept
instance's bound fields. Same validation, same answers as DRF's own way, object by object."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from appointments import services
from appointments.holds import HoldCreateIn, HoldOut
from appointments.models import Appointment, Hold
from appointments.queue_models import OpdQueue, QueueEntry
from appointments.queue_selectors import local_today
from appointments.queue_serializers import CallIn, QueueEntryOut
from appointments.serializers import AppointmentOut
from appointments.serializers.bookings import AppointmentCreateIn
from appointments.services import queues as queue_services
from appointments.tests.factories import AppointmentFactory, HoldFactory, SlotFactory

pytestmark = pytest.mark.django_db


def _unshared(serializer_class):
    """The same answer the way DRF writes it: fields copied and bound per instance, nested ones too."""
    return type(f"Plain{serializer_class.__name__}", (serializer_class,), {"shared_fields": False})


def test_appointment_answers_are_drfs_for_each_object(doctor, patient, other_patient):
    appointments = [AppointmentFactory(slot=SlotFactory(doctor=doctor), patient=p) for p in (patient, other_patient)]
    plain = _unshared(AppointmentOut)
    for appointment in appointments * 2:
        assert AppointmentOut(appointment).data == plain(appointment).data
    assert [row["patient"]["id"] for row in AppointmentOut(appointments, many=True).data] == [
        patient.pk,
        other_patient.pk,
    ]


def test_hold_and_queue_entry_answers_are_drfs_for_each_object(doctor, patient, other_patient):
    holds = [HoldFactory(slot=SlotFactory(doctor=doctor), patient=p) for p in (patient, other_patient)]
    queue = OpdQueue.objects.create(doctor=doctor, hospital=doctor.hospital, date=date(2030, 1, 1))
    entries = [QueueEntry.objects.create(queue=queue, token=1001 + i, name=f"Walk In {i}") for i in range(2)]
    for serializer_class, objects in ((HoldOut, holds), (QueueEntryOut, entries)):
        plain = _unshared(serializer_class)
        for obj in objects * 2:
            assert serializer_class(obj).data == plain(obj).data
            assert serializer_class(obj).data["id"] == obj.pk


@pytest.mark.parametrize(
    ("serializer_class", "body", "errors"),
    [
        (AppointmentCreateIn, {"hold_id": "x", "slot_id": 0}, {"hold_id": ["invalid"], "slot_id": ["min_value"]}),
        (AppointmentCreateIn, {"reason": "r"}, {"slot_id": ["required"]}),
        (AppointmentCreateIn, {"hold_id": 2**63}, {"hold_id": ["max_value"]}),
        (HoldCreateIn, {"patient_id": -1}, {"patient_id": ["min_value"]}),
        (CallIn, {"room": "x" * 51}, {"room": ["max_length"]}),
    ],
)
def test_inputs_refuse_as_drfs_serializer_does(serializer_class, body, errors):
    for _ in range(2):  # the second instance's fields are copies of the same declared fields
        data = serializer_class(data=body)
        assert not data.is_valid()
        assert {name: [error.code for error in found] for name, found in data.errors.items()} == errors


def test_input_instances_do_not_share_their_fields():
    first, second = AppointmentCreateIn(data={"hold_id": 1}), AppointmentCreateIn(data={"hold_id": 2})
    assert first.is_valid() and second.is_valid()
    assert (first.validated_data["hold_id"], second.validated_data["hold_id"]) == (1, 2)
    assert first.fields["hold_id"] is not second.fields["hold_id"]
    assert first.fields["hold_id"].parent is first and second.fields["hold_id"].parent is second
    first.fields["reason"].required = True  # an instance's change stays its own
    assert AppointmentCreateIn(data={"hold_id": 3}).is_valid()


def test_a_booking_from_a_hold_answers_without_a_query_and_makes_up_no_field(doctor, patient):
    """The appointment the one statement booked is built as the ORM loads rows: the answer's fields are
    there (no query to write it), the ones the statement did not read are deferred, not defaults."""
    slot = SlotFactory(doctor=doctor)
    hold = services.hold_create(by=patient, slot_id=slot.pk)
    appointment = services.hold_book(by=patient, hold_id=hold.pk)
    with CaptureQueriesContext(connection) as captured:
        body = AppointmentOut(appointment).data
    assert captured.captured_queries == []
    stored = Appointment.objects.select_related("patient", "doctor__user", "slot", "hospital").get(pk=appointment.pk)
    assert body == AppointmentOut(stored).data
    if connection.vendor == "postgresql":  # the one-statement path built it from the statement's row
        assert "opd_schedule_id" in appointment.slot.get_deferred_fields()
        assert not appointment._state.adding


def test_a_hold_and_a_called_entry_answer_without_a_query_as_their_stored_rows(doctor, patient, hospital_admin):
    hold = services.hold_create(by=patient, slot_id=SlotFactory(doctor=doctor).pk)
    queue = OpdQueue.objects.create(doctor=doctor, hospital=doctor.hospital, date=local_today(doctor.hospital.timezone))
    added = queue_services.queue_entry_add(by=hospital_admin, queue=queue, name="Walk In")
    queue = OpdQueue.objects.select_related("hospital").get(pk=queue.pk)
    entry = queue_services.queue_call_next(by=hospital_admin, queue=queue, room="3")
    for serializer_class, obj, stored in (
        (HoldOut, hold, Hold.objects.get(pk=hold.pk)),
        (QueueEntryOut, entry, QueueEntry.objects.get(pk=added.pk)),
    ):
        with CaptureQueriesContext(connection) as captured:
            body = serializer_class(obj).data
        assert captured.captured_queries == []
        assert body == serializer_class(stored).data
