"""OPD queues (API.md section 17): who may run them, walk-in tokens, checked-in appointments joining,
call-next order, the entry transitions, the public board (no names) and the feed events."""

from datetime import timedelta

import pytest
from django.utils import timezone

from appointments.queue_models import WALK_IN_TOKEN_START, OpdQueue, QueueEntry
from appointments.queue_selectors import local_today
from appointments.tests.factories import AppointmentFactory, DoctorFactory
from conftest import client_for
from feed.models import PendingEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def today(hospital):
    return local_today(hospital.timezone)


@pytest.fixture
def queue(doctor, today):
    return OpdQueue.objects.create(doctor=doctor, hospital=doctor.hospital, date=today)


def _walk_in(client, queue, **body):
    response = client.post(f"/api/v1/queues/{queue.pk}/entries", {"name": "Walk In", **body}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def _error_code(response) -> str:
    return response.json()["errors"][0]["code"]


# --- opening and listing ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("client_name", "expected"),
    [
        ("admin_client", 201),
        ("hospital_admin_client", 201),
        ("doctor_client", 201),
        ("driver_client", 201),
        ("other_hospital_admin_client", 403),
        ("patient_client", 403),
        ("donor_client", 403),
    ],
)
def test_open_queue_role_matrix(request, doctor, today, client_name, expected):
    client = request.getfixturevalue(client_name)
    response = client.post("/api/v1/queues", {"doctor_id": doctor.pk, "date": str(today)}, format="json")
    assert response.status_code == expected, response.json()
    assert OpdQueue.objects.count() == (1 if expected == 201 else 0)
    if expected == 201:
        body = response.json()
        assert body["doctor_id"] == doctor.pk and body["hospital_id"] == doctor.hospital_id
        assert body["date"] == str(today) and body["now_serving"] is None and body["waiting"] == 0


def test_open_queue_anonymous_is_401(api, doctor, today):
    assert api.post("/api/v1/queues", {"doctor_id": doctor.pk, "date": str(today)}, format="json").status_code == 401


def test_open_queue_twice_answers_200_with_the_same_queue(hospital_admin_client, doctor, today):
    body = {"doctor_id": doctor.pk, "date": str(today)}
    first = hospital_admin_client.post("/api/v1/queues", body, format="json")
    second = hospital_admin_client.post("/api/v1/queues/", body, format="json")
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert OpdQueue.objects.count() == 1


def test_open_queue_unknown_doctor_is_400(admin_client, today):
    response = admin_client.post("/api/v1/queues", {"doctor_id": 999999, "date": str(today)}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "doctor_id"


def test_list_filters_by_doctor_and_date_and_hides_other_hospitals(
    hospital_admin_client, other_hospital_admin_client, patient_client, queue, today, doctor
):
    other = OpdQueue.objects.create(doctor=doctor, hospital=doctor.hospital, date=today + timedelta(days=1))
    response = hospital_admin_client.get(f"/api/v1/queues?doctor_id={doctor.pk}&date={today}")
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [queue.pk]
    assert {row["id"] for row in hospital_admin_client.get("/api/v1/queues").json()["results"]} == {queue.pk, other.pk}
    assert other_hospital_admin_client.get("/api/v1/queues").json()["count"] == 0
    assert other_hospital_admin_client.get(f"/api/v1/queues/{queue.pk}/entries").status_code == 404
    assert patient_client.get("/api/v1/queues").status_code == 403


def test_list_queries_are_bounded(hospital_admin_client, hospital, today, django_assert_max_num_queries):
    for _ in range(5):
        doctor = DoctorFactory(hospital=hospital)
        queue = OpdQueue.objects.create(doctor=doctor, hospital=hospital, date=today)
        for _ in range(3):
            QueueEntry.objects.create(queue=queue, token=WALK_IN_TOKEN_START + _, name="x")
    with django_assert_max_num_queries(6):
        response = hospital_admin_client.get("/api/v1/queues")
    assert response.json()["count"] == 5
    assert all(row["waiting"] == 3 for row in response.json()["results"])
    with django_assert_max_num_queries(6):
        response = hospital_admin_client.get(f"/api/v1/queues/{queue.pk}/entries")
    assert response.json()["count"] == 3


# --- walk-ins -----------------------------------------------------------------------------------


def test_walk_in_tokens_are_the_next_of_the_walk_in_series(hospital_admin_client, queue, patient):
    first = _walk_in(hospital_admin_client, queue)
    second = _walk_in(hospital_admin_client, queue, name="", patient_id=patient.pk, priority="senior")
    assert first["token"] == WALK_IN_TOKEN_START
    assert second["token"] == WALK_IN_TOKEN_START + 1
    assert second["patient_id"] == patient.pk and second["name"] == patient.fullname
    assert second["priority"] == "senior" and second["status"] == "waiting"
    assert second["appointment_id"] is None and second["called_at"] is None


def test_walk_in_tokens_are_never_reused(hospital_admin_client, queue):
    first = _walk_in(hospital_admin_client, queue)
    QueueEntry.objects.filter(pk=first["id"]).update(status="left")
    assert _walk_in(hospital_admin_client, queue)["token"] == first["token"] + 1


def test_walk_in_needs_a_patient_or_a_name(hospital_admin_client, queue):
    response = hospital_admin_client.post(f"/api/v1/queues/{queue.pk}/entries", {}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "name"
    response = hospital_admin_client.post(
        f"/api/v1/queues/{queue.pk}/entries", {"name": "A", "priority": "vip"}, format="json"
    )
    assert response.status_code == 400


def test_same_patient_twice_is_409_already_queued(hospital_admin_client, queue, patient):
    _walk_in(hospital_admin_client, queue, patient_id=patient.pk)
    response = hospital_admin_client.post(
        f"/api/v1/queues/{queue.pk}/entries", {"patient_id": patient.pk}, format="json"
    )
    assert response.status_code == 409 and _error_code(response) == "already_queued"


def test_walk_in_by_other_hospital_or_patient_is_refused(other_hospital_admin_client, patient_client, queue):
    assert (
        other_hospital_admin_client.post(f"/api/v1/queues/{queue.pk}/entries", {"name": "x"}, format="json").status_code
        == 404
    )
    assert patient_client.post(f"/api/v1/queues/{queue.pk}/entries", {"name": "x"}, format="json").status_code == 403
    assert QueueEntry.objects.count() == 0


def test_past_days_queue_takes_no_walk_ins(hospital_admin_client, doctor, today):
    past = OpdQueue.objects.create(doctor=doctor, hospital=doctor.hospital, date=today - timedelta(days=1))
    response = hospital_admin_client.post(f"/api/v1/queues/{past.pk}/entries", {"name": "x"}, format="json")
    assert response.status_code == 409 and _error_code(response) == "queue_closed"


# --- checked-in appointments ----------------------------------------------------------------------


def test_checked_in_appointment_joins_with_its_token(doctor_client, appointment):
    response = doctor_client.post(f"/api/v1/appointments/{appointment.pk}/check-in")
    assert response.status_code == 200
    entry = QueueEntry.objects.get(appointment=appointment)
    assert entry.token == appointment.token_number
    assert entry.patient_id == appointment.patient_id and entry.status == "waiting"
    assert entry.queue.doctor_id == appointment.doctor_id and entry.queue.date == appointment.slot.local_date
    entries = doctor_client.get(f"/api/v1/queues/{entry.queue_id}/entries").json()["results"]
    assert entries[0]["appointment_id"] == appointment.pk and entries[0]["token"] == appointment.token_number


def test_checked_in_tokens_and_walk_ins_never_collide(hospital_admin_client, slot, doctor):
    appointments = [AppointmentFactory(slot=slot) for _ in range(3)]
    for appointment in appointments:
        assert hospital_admin_client.post(f"/api/v1/appointments/{appointment.pk}/check-in").status_code == 200
    queue = OpdQueue.objects.get(doctor=doctor, date=slot.local_date)
    walk_in = _walk_in(hospital_admin_client, queue)
    tokens = list(queue.entries.values_list("token", flat=True))
    assert sorted(tokens) == [1, 2, 3, walk_in["token"]]
    assert len(set(tokens)) == 4


def test_no_show_takes_the_entry_out_of_the_queue(hospital_admin_client, appointment):
    hospital_admin_client.post(f"/api/v1/appointments/{appointment.pk}/check-in")
    from appointments.models import Appointment, Slot

    now = timezone.now()  # the slot began an hour ago, whatever day the factory gave it
    Slot.objects.filter(pk=appointment.slot_id).update(start=now - timedelta(hours=1), end=now - timedelta(minutes=30))
    response = hospital_admin_client.post(f"/api/v1/appointments/{appointment.pk}/no-show")
    assert response.status_code == 200, response.content
    assert Appointment.objects.get(pk=appointment.pk).status == "no_show"
    assert QueueEntry.objects.get(appointment=appointment).status == "left"


def test_completed_appointment_is_done_in_the_queue(hospital_admin_client, appointment):
    hospital_admin_client.post(f"/api/v1/appointments/{appointment.pk}/check-in")
    entry = QueueEntry.objects.get(appointment=appointment)
    hospital_admin_client.post(f"/api/v1/queues/{entry.queue_id}/call-next")
    assert hospital_admin_client.post(f"/api/v1/appointments/{appointment.pk}/complete").status_code == 200
    entry.refresh_from_db()
    assert entry.status == "done"


def test_a_visit_completes_the_queue_entry(doctor_client, appointment):
    doctor_client.post(f"/api/v1/appointments/{appointment.pk}/check-in")
    response = doctor_client.post("/api/v1/visits", {"appointment_id": appointment.pk}, format="json")
    assert response.status_code == 201, response.json()
    assert QueueEntry.objects.get(appointment=appointment).status == "done"


# --- call-next -----------------------------------------------------------------------------------


def test_call_next_follows_priority_then_token(doctor_client, queue):
    normal = _walk_in(doctor_client, queue, priority="normal")
    senior = _walk_in(doctor_client, queue, priority="senior")
    urgent = _walk_in(doctor_client, queue, priority="urgent")
    normal2 = _walk_in(doctor_client, queue, priority="normal")
    senior2 = _walk_in(doctor_client, queue, priority="senior")
    called = []
    for _ in range(5):
        response = doctor_client.post(f"/api/v1/queues/{queue.pk}/call-next", {"room": "12"}, format="json")
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "called" and body["room"] == "12" and body["called_at"]
        called.append(body["id"])
    assert called == [urgent["id"], senior["id"], senior2["id"], normal["id"], normal2["id"]]
    response = doctor_client.post(f"/api/v1/queues/{queue.pk}/call-next")
    assert response.status_code == 409 and _error_code(response) == "queue_empty"


def test_call_next_on_an_empty_queue_is_409(hospital_admin_client, queue):
    response = hospital_admin_client.post(f"/api/v1/queues/{queue.pk}/call-next", {}, format="json")
    assert response.status_code == 409 and _error_code(response) == "queue_empty"


def test_call_next_updates_now_serving_and_waiting(hospital_admin_client, queue):
    first = _walk_in(hospital_admin_client, queue)
    _walk_in(hospital_admin_client, queue)
    hospital_admin_client.post(f"/api/v1/queues/{queue.pk}/call-next", {"room": "3"}, format="json")
    body = hospital_admin_client.get(f"/api/v1/queues/{queue.pk}").json()
    assert body["now_serving"] == first["token"] and body["waiting"] == 1 and body["room"] == "3"


def test_call_next_by_other_hospital_or_patient_is_refused(other_hospital_admin_client, patient_client, queue):
    QueueEntry.objects.create(queue=queue, token=WALK_IN_TOKEN_START, name="x")
    assert other_hospital_admin_client.post(f"/api/v1/queues/{queue.pk}/call-next").status_code == 404
    assert patient_client.post(f"/api/v1/queues/{queue.pk}/call-next").status_code == 403
    assert QueueEntry.objects.get().status == "waiting"


# --- transitions ---------------------------------------------------------------------------------


def _act(client, queue, entry_id, action, **body):
    return client.post(f"/api/v1/queues/{queue.pk}/entries/{entry_id}/{action}", body, format="json")


def test_called_entry_starts_and_is_done(hospital_admin_client, queue):
    entry = _walk_in(hospital_admin_client, queue)
    hospital_admin_client.post(f"/api/v1/queues/{queue.pk}/call-next")
    assert _act(hospital_admin_client, queue, entry["id"], "start").json()["status"] == "in_consultation"
    assert _act(hospital_admin_client, queue, entry["id"], "done").json()["status"] == "done"
    assert hospital_admin_client.get(f"/api/v1/queues/{queue.pk}").json()["now_serving"] is None


def test_skipped_entry_can_be_recalled(hospital_admin_client, queue):
    entry = _walk_in(hospital_admin_client, queue)
    hospital_admin_client.post(f"/api/v1/queues/{queue.pk}/call-next")
    assert _act(hospital_admin_client, queue, entry["id"], "skip").json()["status"] == "skipped"
    recalled = _act(hospital_admin_client, queue, entry["id"], "recall", room="7").json()
    assert recalled["status"] == "called" and recalled["room"] == "7"


@pytest.mark.parametrize(
    ("status", "action"),
    [
        ("waiting", "start"),
        ("waiting", "done"),
        ("waiting", "recall"),
        ("called", "done"),
        ("in_consultation", "skip"),
        ("in_consultation", "recall"),
        ("done", "start"),
        ("done", "skip"),
        ("skipped", "done"),
        ("left", "recall"),
    ],
)
def test_illegal_transitions_are_409(hospital_admin_client, queue, status, action):
    entry = QueueEntry.objects.create(
        queue=queue, token=WALK_IN_TOKEN_START, name="x", status=status, called_at="2026-01-01T00:00:00Z"
    )
    response = _act(hospital_admin_client, queue, entry.pk, action)
    assert response.status_code == 409 and _error_code(response) == "illegal_transition"
    entry.refresh_from_db()
    assert entry.status == status


def test_entry_of_another_queue_is_404(hospital_admin_client, queue, doctor, today):
    other = OpdQueue.objects.create(doctor=doctor, hospital=doctor.hospital, date=today + timedelta(days=1))
    entry = QueueEntry.objects.create(queue=other, token=WALK_IN_TOKEN_START, name="x")
    assert _act(hospital_admin_client, queue, entry.pk, "skip").status_code == 404


# --- the public board and the feed --------------------------------------------------------------


def test_board_shows_todays_queues_without_names(api, hospital_admin_client, queue, doctor, patient):
    _walk_in(hospital_admin_client, queue, name="Secret Walker")
    _walk_in(hospital_admin_client, queue, name="", patient_id=patient.pk)
    hospital_admin_client.post(f"/api/v1/queues/{queue.pk}/call-next", {"room": "5"}, format="json")
    tomorrow = OpdQueue.objects.create(doctor=doctor, hospital=doctor.hospital, date=queue.date + timedelta(days=1))
    QueueEntry.objects.create(queue=tomorrow, token=WALK_IN_TOKEN_START, name="x")
    response = api.get(f"/api/v1/hospitals/{queue.hospital_id}/queue-board")
    assert response.status_code == 200
    body = response.json()
    assert body["hospital_id"] == queue.hospital_id
    assert body["queues"] == [
        {
            "doctor_id": doctor.pk,
            "doctor": {
                "id": doctor.pk,
                "fullname": doctor.user.fullname,
                "specialization": doctor.specialization,
                "department": doctor.department,
            },
            "room": "5",
            "now_serving": WALK_IN_TOKEN_START,
            "waiting": 1,
        }
    ]
    assert "Secret Walker" not in response.content.decode() and patient.fullname not in response.content.decode()


def test_board_of_unknown_or_inactive_hospital_is_404(api, hospital):
    assert api.get("/api/v1/hospitals/999999/queue-board").status_code == 404
    hospital.is_active = False
    hospital.save()
    assert api.get(f"/api/v1/hospitals/{hospital.pk}/queue-board").status_code == 404


def test_board_query_count_is_bounded(api, hospital, today, django_assert_max_num_queries):
    for _ in range(5):
        doctor = DoctorFactory(hospital=hospital)
        queue = OpdQueue.objects.create(doctor=doctor, hospital=hospital, date=today)
        QueueEntry.objects.create(queue=queue, token=WALK_IN_TOKEN_START, name="x")
    with django_assert_max_num_queries(3):
        response = api.get(f"/api/v1/hospitals/{hospital.pk}/queue-board")
    assert len(response.json()["queues"]) == 5


def test_queue_changes_emit_the_board_on_the_public_topic_without_names(hospital_admin_client, queue):
    PendingEvent.objects.all().delete()
    _walk_in(hospital_admin_client, queue, name="Secret Walker")
    hospital_admin_client.post(f"/api/v1/queues/{queue.pk}/call-next")
    events = list(PendingEvent.objects.filter(topic=f"hospital.{queue.hospital_id}.queue").order_by("pk"))
    assert [event.type for event in events] == ["queue.changed", "queue.changed"]
    assert events[-1].data["queues"][0]["now_serving"] == WALK_IN_TOKEN_START
    assert all("Secret Walker" not in str(event.data) for event in events)


def test_queue_topic_snapshot_is_the_board(queue, hospital_admin):
    from feed.topics import parse

    QueueEntry.objects.create(queue=queue, token=WALK_IN_TOKEN_START, name="x")
    snapshot = parse(f"hospital.{queue.hospital_id}.queue").snapshot(None)
    assert snapshot["queues"][0]["waiting"] == 1


def test_idempotency_key_replays_a_walk_in(queue, hospital_admin):
    client = client_for(hospital_admin)
    url = f"/api/v1/queues/{queue.pk}/entries"
    first = client.post(url, {"name": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = client.post(url, {"name": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json() and again["Idempotent-Replayed"] == "true"
    assert QueueEntry.objects.count() == 1


# --- demo data and admin -------------------------------------------------------------------------


def test_seed_queue_makes_a_queue_to_look_at_once(doctor, api):
    from io import StringIO

    from appointments.queue_demo import seed_queue

    queue = seed_queue(doctor=doctor, stdout=StringIO())
    seed_queue(doctor=doctor)
    assert OpdQueue.objects.count() == 1
    assert queue.entries.count() == 4 and queue.entries.filter(status="called").count() == 1
    board = api.get(f"/api/v1/hospitals/{doctor.hospital_id}/queue-board").json()
    assert board["queues"][0]["now_serving"] is not None and board["queues"][0]["waiting"] == 3


def test_admin_lists_queues_and_entries(admin_site, queue):
    QueueEntry.objects.create(queue=queue, token=WALK_IN_TOKEN_START, name="x")
    assert admin_site.get("/admin/appointments/opdqueue/").status_code == 200
    assert admin_site.get(f"/admin/appointments/opdqueue/{queue.pk}/change/").status_code == 200
    assert admin_site.get("/admin/appointments/queueentry/").status_code == 200
