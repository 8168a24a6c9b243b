"""The hot paths' own lookups (issue 18's throughput): call-next reads its queue and the hold action
checks its slot with one prepared statement instead of DRF's get_object. Who sees which row, and the
404 answers, are exactly get_object's."""

import pytest

from appointments.queue_models import OpdQueue
from appointments.queue_selectors import local_today
from appointments.tests.factories import SlotFactory

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


# --- hold: the slot's visibility -----------------------------------------------------------------


def _hold(client, pk, **body):
    return client.post(f"/api/v1/slots/{pk}/hold", body, format="json")


@pytest.mark.parametrize("pk", ["999999", "0", BIGINT_OVERFLOW, "abc", "-1"])
def test_hold_on_an_unknown_slot_is_404(patient_client, pk):
    _not_found(_hold(patient_client, pk), "No Slot matches the given query.")


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


def test_hold_on_a_visible_slot_is_201(patient_client, doctor):
    slot = SlotFactory(doctor=doctor)
    response = _hold(patient_client, slot.pk)
    assert response.status_code == 201, response.json()
    assert response.json()["slot_id"] == slot.pk
