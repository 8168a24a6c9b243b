"""The hot paths' own lookups (issue 18's throughput): call-next reads its queue and the hold action
checks its slot through hms.api.scoped_lookup (the viewset's scoped queryset compiled once per shape,
run again with the path's pk) instead of DRF's get_object. Who sees which row, and the 404 answers,
are exactly get_object's."""

from datetime import date
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from appointments.queue_models import OpdQueue
from appointments.queue_selectors import local_today
from appointments.queue_views import QueueViewSet
from appointments.slot_views import SlotViewSet
from appointments.tests.factories import SlotFactory
from hms.api import scoped_lookup
from hms.api.scoped_lookup import ScopedLookup
from hospitals.models import Hospital

pytestmark = pytest.mark.django_db

BIGINT_OVERFLOW = str(2**63)
QUEUE_404 = "Not found."  # DRF's get_object answer, kept


@pytest.fixture
def queue(doctor, hospital):
    return OpdQueue.objects.create(doctor=doctor, hospital=hospital, date=local_today(hospital.timezone))


def _call_next(client, pk):
    return client.post(f"/api/v1/queues/{pk}/call-next", {}, format="json")


def _not_found(response, detail):
    assert response.status_code == 404, response.content
    assert response.json()["errors"] == [{"code": "not_found", "detail": detail, "attr": None}]


# --- call-next ---------------------------------------------------------------------------------


@pytest.mark.parametrize("client_name", ["admin_client", "hospital_admin_client", "doctor_client", "driver_client"])
def test_call_next_reaches_the_queue_for_its_staff_and_admin(request, client_name, queue):
    response = _call_next(request.getfixturevalue(client_name), queue.pk)
    assert response.status_code == 409 and response.json()["errors"][0]["code"] == "queue_empty"


@pytest.mark.parametrize("pk", ["999999", "0", BIGINT_OVERFLOW])
def test_call_next_on_an_unknown_queue_is_404(hospital_admin_client, admin_client, pk):
    for client in (hospital_admin_client, admin_client):
        _not_found(_call_next(client, pk), QUEUE_404)


def test_call_next_on_another_hospitals_queue_is_404(other_hospital_admin_client, queue):
    _not_found(_call_next(other_hospital_admin_client, queue.pk), QUEUE_404)


def test_deactivated_hospitals_queue_is_404_for_its_staff_and_reachable_for_admin(
    hospital, hospital_admin_client, doctor_client, admin_client, queue
):
    hospital.is_active = False
    hospital.save(update_fields=["is_active"])
    for client in (hospital_admin_client, doctor_client):
        _not_found(_call_next(client, queue.pk), QUEUE_404)
    response = _call_next(admin_client, queue.pk)
    assert response.status_code == 409 and response.json()["errors"][0]["code"] == "queue_empty"


def test_call_next_by_a_patient_is_403_before_any_lookup(patient_client, queue):
    assert _call_next(patient_client, queue.pk).status_code == 403
    assert _call_next(patient_client, "999999").status_code == 403


def test_call_next_answers_the_called_entry_with_the_queues_room(hospital_admin_client, queue):
    queue.room = "7"
    queue.save(update_fields=["room"])
    added = hospital_admin_client.post(f"/api/v1/queues/{queue.pk}/entries", {"name": "Walk In"}, format="json")
    assert added.status_code == 201
    response = _call_next(hospital_admin_client, queue.pk)
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["id"] == added.json()["id"] and body["queue_id"] == queue.pk
    assert body["status"] == "called" and body["room"] == "7"


def test_call_next_on_a_past_days_queue_is_still_refused(hospital_admin_client, doctor, hospital):
    past = OpdQueue.objects.create(doctor=doctor, hospital=hospital, date="2020-01-01")
    response = _call_next(hospital_admin_client, past.pk)
    assert response.status_code == 409 and response.json()["errors"][0]["code"] == "queue_closed"


def test_call_next_checks_visibility_before_the_body(hospital_admin_client, other_hospital_admin_client, queue):
    # The statement is tried only with a valid body; the lookup's 404 still comes before a 400.
    long_room = {"room": "x" * 51}
    response = hospital_admin_client.post("/api/v1/queues/999999/call-next", long_room, format="json")
    _not_found(response, QUEUE_404)
    _not_found(
        other_hospital_admin_client.post(f"/api/v1/queues/{queue.pk}/call-next", long_room, format="json"), QUEUE_404
    )
    response = hospital_admin_client.post(f"/api/v1/queues/{queue.pk}/call-next", long_room, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["attr"] == "room"


def test_call_next_moves_the_queues_room_to_the_called_room(hospital_admin_client, queue):
    queue.room = "7"
    queue.save(update_fields=["room"])
    hospital_admin_client.post(f"/api/v1/queues/{queue.pk}/entries", {"name": "Walk In"}, format="json")
    response = hospital_admin_client.post(f"/api/v1/queues/{queue.pk}/call-next", {"room": "9"}, format="json")
    assert response.status_code == 200 and response.json()["room"] == "9"
    queue.refresh_from_db()
    assert queue.room == "9"


# --- hold: the slot's visibility -----------------------------------------------------------------


def _hold(client, pk, **body):
    return client.post(f"/api/v1/slots/{pk}/hold", body, format="json")


@pytest.mark.parametrize("pk", ["999999", "0", BIGINT_OVERFLOW])
def test_hold_on_an_unknown_slot_is_404(patient_client, pk):
    _not_found(_hold(patient_client, pk), "No Slot matches the given query.")


@pytest.mark.parametrize("pk", ["abc", "-1", "%091"])
def test_hold_on_a_path_that_is_no_slot_id_is_404(patient_client, pk):
    # Not digits: no route (hms.api.routers.ID_PATTERN), the error shape's 404 for an unknown path.
    _not_found(_hold(patient_client, pk), "No such resource.")


def test_deactivated_hospitals_slot_is_404_for_a_patient_and_seen_by_admin(
    hospital, patient_client, admin_client, doctor, patient
):
    slot = SlotFactory(doctor=doctor)
    hospital.is_active = False
    hospital.save(update_fields=["is_active"])
    _not_found(_hold(patient_client, slot.pk), "No Slot matches the given query.")
    # Admin sees the slot: the booking rules answer (the service's own "No such slot." for a deactivated
    # hospital), not the visibility's 404.
    response = _hold(admin_client, slot.pk, patient_id=patient.pk)
    assert response.json()["errors"][0]["detail"] != "No Slot matches the given query.", response.json()


def test_hold_refusals_answer_the_slots_visibility_first(patient_client, hospital, doctor):
    # The view looks the slot up only when the hold is refused: an invisible slot is still a 404
    # before the body's 400 or the booking rules' 409.
    slot = SlotFactory(doctor=doctor)
    hospital.is_active = False
    hospital.save(update_fields=["is_active"])
    _not_found(_hold(patient_client, slot.pk, patient_id="x"), "No Slot matches the given query.")
    _not_found(_hold(patient_client, "999999", patient_id="x"), "No Slot matches the given query.")
    hospital.is_active = True
    hospital.save(update_fields=["is_active"])
    response = _hold(patient_client, slot.pk, patient_id="x")
    assert response.status_code == 400, response.json()
    assert _hold(patient_client, slot.pk).status_code == 201
    assert _hold(patient_client, slot.pk).json()["errors"][0]["code"] == "already_held"


def test_hold_on_a_visible_slot_is_201(patient_client, doctor):
    slot = SlotFactory(doctor=doctor)
    response = _hold(patient_client, slot.pk)
    assert response.status_code == 201, response.json()
    assert response.json()["slot_id"] == slot.pk


# --- the one helper: hms.api.scoped_lookup.ScopedLookup ------------------------------------------
# Both lookups are the viewsets' own scoped queryset, compiled once per shape and run again with the
# path's pk bound: they must find exactly the rows `scope_queryset` shows, for every caller.

CALLERS = ("admin_user", "hospital_admin", "other_hospital_admin", "doctor_user", "driver_user", "patient")


def _view(view_class, user, action):
    view = view_class()
    view.request, view.action, view.kwargs, view.format_kwarg = SimpleNamespace(user=user), action, {}, None
    return view


def _scoped(view, lookup, pk):
    return list(view.scope_queryset(lookup.model.objects.filter(pk=pk)).values(*lookup.columns))


def _lookups(request, doctor, other_doctor):
    """(view class, action, lookup, visible pks of each hospital) for call-next's queue and hold's slot."""
    today = local_today(doctor.hospital.timezone)
    queues = [OpdQueue.objects.create(doctor=d, hospital=d.hospital, date=today).pk for d in (doctor, other_doctor)]
    slots = [SlotFactory(doctor=d).pk for d in (doctor, other_doctor)]
    return [
        (QueueViewSet, "call_next", QueueViewSet.call_next_queue, queues),
        (SlotViewSet, "hold", SlotViewSet.hold_slot, slots),
    ]


@pytest.mark.parametrize("deactivated", [False, True])
def test_scoped_lookup_agrees_with_the_scoped_queryset_for_every_caller(request, doctor, other_doctor, deactivated):
    lookups = _lookups(request, doctor, other_doctor)
    if deactivated:
        Hospital.objects.filter(pk=doctor.hospital_id).update(is_active=False)
    users = [request.getfixturevalue(name) for name in CALLERS] + [AnonymousUser()]
    for view_class, action, lookup, pks in lookups:
        for user in users:
            view = _view(view_class, user, action)
            for _ in range(2):  # compiled on the first call, the kept SQL on the second
                for pk in [*pks, 999999]:
                    expected = _scoped(view, lookup, pk)
                    assert lookup.row(view, str(pk)) == (expected[0] if expected else None), (user, pk)


def test_scoped_lookup_keeps_one_compiled_statement_per_shape(monkeypatch, doctor, hospital_admin):
    today = local_today(doctor.hospital.timezone)
    first = OpdQueue.objects.create(doctor=doctor, hospital=doctor.hospital, date=today)
    second = OpdQueue.objects.create(doctor=doctor, hospital=doctor.hospital, date=date(2020, 1, 1))
    lookup = ScopedLookup(OpdQueue, "id", "date")
    view = _view(QueueViewSet, hospital_admin, "call_next")
    compiled = []
    original = scoped_lookup.CompiledRows.__init__

    def counting(self, queryset):
        compiled.append(queryset)
        original(self, queryset)

    monkeypatch.setattr(scoped_lookup.CompiledRows, "__init__", counting)
    assert lookup.row(view, str(first.pk))["id"] == first.pk
    assert len(compiled) == 2  # the shape, and the same for another pk (to find the pk's places)
    # Another pk of the same shape: the kept SQL, its own row, one query.
    with CaptureQueriesContext(connection) as captured:
        assert lookup.row(view, str(second.pk)) == {"id": second.pk, "date": second.date}
    assert len(compiled) == 2 and len(captured.captured_queries) == 1


@pytest.mark.parametrize("pk", ["abc", "", "1.5", BIGINT_OVERFLOW, str(-(2**63) - 1), "99999999999999999999999"])
def test_scoped_lookup_finds_no_row_for_a_pk_the_queryset_refuses_without_a_query(admin_user, pk):
    view = _view(QueueViewSet, admin_user, "call_next")
    with CaptureQueriesContext(connection) as captured:
        assert QueueViewSet.call_next_queue.row(view, pk) is None
    assert captured.captured_queries == []


def test_scoped_lookup_at_the_largest_bigint_compiles_against_a_smaller_pk(admin_user, queue):
    lookup = ScopedLookup(OpdQueue, "id")
    view = _view(QueueViewSet, admin_user, "call_next")
    assert lookup.row(view, str(2**63 - 1)) is None
    assert lookup.row(view, str(queue.pk)) == {"id": queue.pk}


def test_scoped_lookup_whose_sql_changes_with_more_than_the_pk_is_compiled_every_time(admin_user, doctor):
    """A queryset that embeds more than the pk (here a value derived from it) is not kept: each request
    compiles its own, and still finds exactly the scoped queryset's row."""

    class Unstable(ScopedLookup):
        def queryset(self, view, pk):
            return super().queryset(view, pk).exclude(room=f"room {pk}")

    today = local_today(doctor.hospital.timezone)
    queues = [
        OpdQueue.objects.create(doctor=doctor, hospital=doctor.hospital, date=day) for day in (today, "2020-01-01")
    ]
    lookup = Unstable(OpdQueue, "id")
    view = _view(QueueViewSet, admin_user, "call_next")
    for queue in queues * 2:
        assert lookup.row(view, str(queue.pk)) == {"id": queue.pk}
    assert set(lookup._kept.values()) == {scoped_lookup._UNSTABLE}


def test_scoped_lookup_for_a_caller_who_sees_nothing_runs_no_query(doctor):
    """A staff role without a hospital (the database refuses such an account; the rule still holds):
    the scoped queryset is empty (it compiles to nothing)."""
    orphan = User(id=10**9, role=User.Role.DOCTOR, hospital_id=None)
    view = _view(QueueViewSet, orphan, "call_next")
    queue = OpdQueue.objects.create(doctor=doctor, hospital=doctor.hospital, date=local_today(doctor.hospital.timezone))
    for _ in range(2):
        with CaptureQueriesContext(connection) as captured:
            assert QueueViewSet.call_next_queue.row(view, str(queue.pk)) is None
        assert captured.captured_queries == []


def test_callers_who_see_the_same_rows_share_one_kept_shape(hospital, hospital_admin, doctor_user, admin_user, queue):
    """QueueViewSet compares no lookup with the caller's id: the hospital's admins share a shape (one
    compilation), another role or hospital has its own."""
    second_admin = User.objects.create_user(
        username="second.admin", password="x" * 12, role=User.Role.HOSPITAL_ADMIN, hospital=hospital
    )
    lookup = ScopedLookup(OpdQueue, "id")
    views = [_view(QueueViewSet, user, "call_next") for user in (hospital_admin, second_admin, doctor_user, admin_user)]
    assert views[0].visibility_key() == views[1].visibility_key() != views[2].visibility_key()
    for view in views:
        assert lookup.row(view, str(queue.pk)) == {"id": queue.pk}
    assert len(lookup._kept) == 3
