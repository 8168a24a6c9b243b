"""The one-statement hold, book-from-hold and call-next (services/hold_statements.py,
appointments/queue_statements.py) against their locking paths: the same answers, the same feed events
(as topics.py and queue_selectors.queue_board build them, encoded as emit() encodes them), the same
audit entries with an intact hash chain; and the queries each request costs, pinned."""

import json
import re
from datetime import timedelta

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from accounts import audit_chain
from accounts.models import Activity
from accounts.tests.factories import UserFactory
from appointments.holds import HoldOut
from appointments.models import Appointment, Hold, Slot, WaitlistEntry
from appointments.queue_models import WALK_IN_TOKEN_START, OpdQueue, QueueEntry
from appointments.queue_selectors import local_today, queue_board
from appointments.queue_serializers import QueueEntryOut
from appointments.queue_statements import CALL_NEXT_SQL
from appointments.serializers import AppointmentOut
from appointments.services import queues
from appointments.services.hold_statements import HOLD_BOOK_SQL, HOLD_SQL
from appointments.tests.factories import DoctorFactory, SlotFactory
from appointments.topics import appointment_state, hold_state, slot_state
from conftest import client_for
from feed.models import PendingEvent
from hospitals.models import Hospital

pytestmark = pytest.mark.django_db


def encoded(data):
    """`data` as the feed stores it (emit() encodes with Django's JSON encoder)."""
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def rendered(data):
    return json.loads(JSONRenderer().render(data))


def events_since(seq: int) -> list[tuple]:
    return [(e.topic, e.type, e.data) for e in PendingEvent.objects.filter(seq__gt=seq).order_by("seq")]


def last_seq() -> int:
    return PendingEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


def audit_since(pk: int) -> list[tuple]:
    rows = Activity.objects.filter(pk__gt=pk).order_by("pk")
    return [(a.action, a.object_type, a.object_id, a.patient_id, a.actor_id, a.detail) for a in rows]


def last_activity() -> int:
    return Activity.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


@pytest.mark.parametrize("sql", [HOLD_SQL, HOLD_BOOK_SQL, CALL_NEXT_SQL], ids=["hold", "book", "call"])
def test_statements_compare_with_the_models_values(sql):
    compared = re.findall(r"status\s*(?:=|<>)\s*'([^']*)'", sql)
    compared += [
        value for group in re.findall(r"status IN \(([^)]*)\)", sql) for value in re.findall(r"'([^']*)'", group)
    ]
    assert len(compared) >= 2
    enums = (Slot.Status, Appointment.Status, Hospital.OpdStatus, Hold.Status, QueueEntry.Status, WaitlistEntry.Status)
    assert set(compared) <= {value for enum in enums for value in enum.values}
    for group in re.findall(r"\.status IN \(([^)]*)\)", sql):
        assert tuple(re.findall(r"'([^']*)'", group)) in (Appointment.ACTIVE, QueueEntry.SERVING)
    actions = re.findall(r"%\(actor_name\)s, '([a-z_]+)'", sql)
    assert actions and set(actions) <= set(Activity.Action.values)


@pytest.fixture
def odd_slot(doctor):
    """A slot whose start has microseconds: the events must write its milliseconds as emit() does."""
    slot = SlotFactory(doctor=doctor, capacity=3)
    Slot.objects.filter(pk=slot.pk).update(start=slot.start.replace(microsecond=123456))
    return Slot.objects.get(pk=slot.pk)


@pytest.mark.usefixtures("booking_path")
@pytest.mark.parametrize("by_staff", [False, True])
def test_hold_then_book_writes_what_the_locking_path_writes(patient, hospital_admin, odd_slot, by_staff):
    client = client_for(hospital_admin if by_staff else patient)
    actor = hospital_admin if by_staff else patient
    extra = {"patient_id": patient.pk} if by_staff else {}
    seq, activity = last_seq(), last_activity()

    response = client.post(f"/api/v1/slots/{odd_slot.pk}/hold", extra, format="json")
    assert response.status_code == 201, response.content
    hold = Hold.objects.get(pk=response.json()["id"])
    assert response.json() == rendered(HoldOut(hold).data)
    slot = Slot.objects.with_held().get(pk=odd_slot.pk)
    assert events_since(seq) == [
        (f"hospital.{slot.hospital_id}.slots", "slot.changed", encoded(slot_state(slot))),
        (f"user.{patient.pk}", "hold.active", encoded(hold_state(hold))),
    ]
    assert events_since(seq)[0][2]["start"].endswith(".123Z")
    assert audit_since(activity) == [("create", "hold", hold.pk, patient.pk, actor.pk, {"slot_id": slot.pk})]
    assert (hold.held_by_id, hold.hospital_id, slot.hold_count) == (actor.pk, slot.hospital_id, 1)

    seq, activity = last_seq(), last_activity()
    response = client.post("/api/v1/appointments", {"hold_id": hold.pk, "reason": "Check-up", **extra}, format="json")
    assert response.status_code == 201, response.content
    appointment = Appointment.objects.select_related("patient", "doctor__user", "hospital", "slot").get(
        pk=response.json()["id"]
    )
    assert response.json() == rendered(AppointmentOut(appointment).data)
    hold.refresh_from_db()
    slot = Slot.objects.with_held().get(pk=odd_slot.pk)
    assert (hold.status, hold.appointment_id, slot.booked, slot.hold_count, slot.last_token) == (
        "used",
        appointment.pk,
        1,
        0,
        1,
    )
    assert (appointment.booked_by_id, appointment.reason, appointment.token_number) == (actor.pk, "Check-up", 1)
    assert events_since(seq) == [
        (f"hospital.{slot.hospital_id}.slots", "slot.changed", encoded(slot_state(slot))),
        (f"user.{patient.pk}", "appointment.booked", encoded(appointment_state(appointment))),
        (f"user.{patient.pk}", "hold.used", encoded(hold_state(hold))),
    ]
    assert audit_since(activity) == [
        ("create", "appointment", appointment.pk, patient.pk, actor.pk, {"hold_id": hold.pk}),
        ("action", "hold", hold.pk, patient.pk, actor.pk, {"action": "use", "appointment_id": appointment.pk}),
    ]
    assert audit_chain.verify()["ok"]


@pytest.mark.usefixtures("booking_path")
def test_a_hold_beside_other_holds_counts_them_in_its_event(doctor):
    slot = SlotFactory(doctor=doctor, capacity=3)
    first = client_for(UserFactory())
    assert first.post(f"/api/v1/slots/{slot.pk}/hold", {}, format="json").status_code == 201
    seq = last_seq()
    assert client_for(UserFactory()).post(f"/api/v1/slots/{slot.pk}/hold", {}, format="json").status_code == 201
    (topic, kind, data), _hold_event = events_since(seq)
    assert (kind, data["booked"], data["held"], data["available"]) == ("slot.changed", 0, 2, 1)


@pytest.mark.usefixtures("booking_path")
def test_refusals_of_the_statements_write_nothing(patient_client, patient, other_patient, doctor):
    slot = SlotFactory(doctor=doctor, capacity=1)
    hold_id = patient_client.post(f"/api/v1/slots/{slot.pk}/hold", {}, format="json").json()["id"]
    seq, activity = last_seq(), last_activity()
    other = client_for(other_patient)
    # Full, already held, another patient's hold (404), a mismatched slot (400), used (409).
    assert other.post(f"/api/v1/slots/{slot.pk}/hold", {}, format="json").json()["errors"][0]["code"] == "slot_full"
    response = patient_client.post(f"/api/v1/slots/{slot.pk}/hold", {}, format="json")
    assert response.json()["errors"][0]["code"] == "already_held"
    assert other.post("/api/v1/appointments", {"hold_id": hold_id}, format="json").status_code == 404
    response = patient_client.post("/api/v1/appointments", {"hold_id": hold_id, "slot_id": slot.pk + 1}, format="json")
    assert (response.status_code, response.json()["errors"][0]["code"]) == (400, "hold_mismatch")
    assert (events_since(seq), audit_since(activity)) == ([], [])
    assert patient_client.post("/api/v1/appointments", {"hold_id": hold_id}, format="json").status_code == 201
    response = patient_client.post("/api/v1/appointments", {"hold_id": hold_id}, format="json")
    assert (response.status_code, response.json()["errors"][0]["code"]) == (409, "hold_used")
    slot.refresh_from_db()
    assert (slot.booked, slot.hold_count, Appointment.objects.count()) == (1, 0, 1)


@pytest.fixture(params=["one_statement", "locking"])
def call_path(request, monkeypatch):
    if request.param == "locking":
        monkeypatch.setattr(queues, "ONE_STATEMENT_VENDORS", frozenset())
    return request.param


@pytest.mark.usefixtures("call_path")
def test_call_next_emits_the_board_as_queue_board_builds_it(hospital_admin, doctor, hospital):
    today = local_today(hospital.timezone)
    queue = OpdQueue.objects.create(doctor=doctor, hospital=hospital, date=today, room="2")
    other = OpdQueue.objects.create(doctor=DoctorFactory(hospital=hospital), hospital=hospital, date=today)
    tomorrow = OpdQueue.objects.create(doctor=doctor, hospital=hospital, date=today + timedelta(days=1), room="3")
    earlier = timezone.now() - timedelta(minutes=5)
    QueueEntry.objects.create(queue=other, token=WALK_IN_TOKEN_START, name="a", status="called", called_at=earlier)
    QueueEntry.objects.create(queue=other, token=WALK_IN_TOKEN_START + 1, name="b")
    QueueEntry.objects.create(
        queue=queue, token=WALK_IN_TOKEN_START + 9, name="c", status="in_consultation", called_at=earlier
    )
    for offset, priority in enumerate(["normal", "urgent", "normal"]):
        QueueEntry.objects.create(queue=queue, token=WALK_IN_TOKEN_START + offset, name="d", priority=priority)
    QueueEntry.objects.create(queue=tomorrow, token=WALK_IN_TOKEN_START, name="e")
    client = client_for(hospital_admin)
    for room, path_queue, expected_token, expected_room in [
        ("", queue, WALK_IN_TOKEN_START + 1, "2"),
        ("5", queue, WALK_IN_TOKEN_START, "5"),
        ("", tomorrow, WALK_IN_TOKEN_START, "3"),
    ]:
        seq, activity = last_seq(), last_activity()
        response = client.post(f"/api/v1/queues/{path_queue.pk}/call-next", {"room": room}, format="json")
        assert response.status_code == 200, response.content
        entry = QueueEntry.objects.get(pk=response.json()["id"])
        assert (entry.token, entry.status, entry.room) == (expected_token, "called", expected_room)
        assert response.json() == rendered(QueueEntryOut(entry).data)
        assert events_since(seq) == [
            (f"hospital.{hospital.pk}.queue", "queue.changed", encoded(queue_board(hospital.pk)))
        ]
        detail = {"action": "called", "queue_id": path_queue.pk, "token": entry.token, "room": entry.room}
        assert audit_since(activity) == [("action", "queue_entry", entry.pk, None, hospital_admin.pk, detail)]
    board = queue_board(hospital.pk)["queues"]
    assert [(row["room"], row["now_serving"], row["waiting"]) for row in board] == [
        ("5", WALK_IN_TOKEN_START, 1),
        ("", WALK_IN_TOKEN_START, 1),
    ]
    assert audit_chain.verify()["ok"]


@pytest.mark.usefixtures("call_path")
def test_call_next_on_an_empty_queue_writes_nothing(hospital_admin, doctor, hospital):
    queue = OpdQueue.objects.create(doctor=doctor, hospital=hospital, date=local_today(hospital.timezone))
    seq, activity = last_seq(), last_activity()
    response = client_for(hospital_admin).post(f"/api/v1/queues/{queue.pk}/call-next", {}, format="json")
    assert (response.status_code, response.json()["errors"][0]["code"]) == (409, "queue_empty")
    assert (events_since(seq), audit_since(activity)) == ([], [])


# --- what each request costs (issue 18: 12 queries for a hold, 18 to book from it, 10 for call-next) ---


def test_hold_book_and_call_next_query_counts(
    settings, patient, hospital_admin, doctor, hospital, django_assert_max_num_queries
):
    # The throttle counters on a cache outside the database, as on Redis in production.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "hq"}}
    slot = SlotFactory(doctor=doctor, capacity=3)
    client = client_for(patient)
    # Authentication, the statement (and its savepoint inside the test's transaction): the view looks
    # its slot up only to explain a refusal.
    with django_assert_max_num_queries(4):
        response = client.post(f"/api/v1/slots/{slot.pk}/hold", {}, format="json")
    assert response.status_code == 201
    # Authentication, the statement (and its savepoint).
    with django_assert_max_num_queries(4):
        response = client.post("/api/v1/appointments", {"hold_id": response.json()["id"]}, format="json")
    assert response.status_code == 201
    queue = OpdQueue.objects.create(doctor=doctor, hospital=hospital, date=local_today(hospital.timezone))
    QueueEntry.objects.create(queue=queue, token=WALK_IN_TOKEN_START, name="x")
    desk = client_for(hospital_admin)
    # Authentication, the statement (which finds the queue itself).
    with django_assert_max_num_queries(2):
        response = desk.post(f"/api/v1/queues/{queue.pk}/call-next", {}, format="json")
    assert response.status_code == 200
