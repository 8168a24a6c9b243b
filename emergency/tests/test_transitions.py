"""The emergency status machine through POST /emergencies/{id}/status: every pair, every role."""

import itertools

import pytest

from accounts.models import Activity
from accounts.tests.factories import UserFactory
from conftest import client_for
from emergency.models import Ambulance, Emergency
from emergency.tests.factories import EmergencyFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/emergencies"
S = Emergency.Status
ALL = [str(choice) for choice in S]

# Reachable through /status (dispatched only through /dispatch).
LEGAL = {
    (S.DISPATCHED, S.EN_ROUTE),
    (S.EN_ROUTE, S.ON_SCENE),
    (S.ON_SCENE, S.TRANSPORTING),
    (S.TRANSPORTING, S.AT_HOSPITAL),
    (S.AT_HOSPITAL, S.RESOLVED),
    *((status, S.CANCELLED) for status in Emergency.OPEN_STATUSES),
}
ILLEGAL = sorted(set(itertools.product(ALL, ALL)) - {(str(a), str(b)) for a, b in LEGAL})

AMBULANCE_AFTER = {
    S.EN_ROUTE: "dispatched",
    S.ON_SCENE: "busy",
    S.TRANSPORTING: "busy",
    S.AT_HOSPITAL: "busy",
    S.RESOLVED: "available",
    S.CANCELLED: "available",
}


@pytest.mark.parametrize("source,target", sorted((str(a), str(b)) for a, b in LEGAL))
def test_legal_transition_is_200_and_appends_an_event(admin_client, admin_user, make_emergency_at, source, target):
    emergency = make_emergency_at(source)
    response = admin_client.post(f"{URL}/{emergency.pk}/status", {"status": target, "note": "step"})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == target
    last = response.json()["events"][-1]
    assert (last["status"], last["actor_id"], last["note"]) == (target, admin_user.pk, "step")
    emergency.refresh_from_db()
    assert emergency.status == target
    if emergency.ambulance_id:
        assert Ambulance.objects.get(pk=emergency.ambulance_id).status == AMBULANCE_AFTER[target]
    entry = Activity.objects.get(object_type="emergency", object_id=str(emergency.pk))
    assert entry.detail == {"action": "status", "from": source, "to": target}


@pytest.mark.parametrize("source,target", ILLEGAL)
def test_illegal_transition_is_409_and_changes_nothing(admin_client, make_emergency_at, source, target):
    emergency = make_emergency_at(source)
    ambulance_status = emergency.ambulance.status if emergency.ambulance_id else None
    response = admin_client.post(f"{URL}/{emergency.pk}/status", {"status": target})
    assert response.status_code == 409, response.content
    assert response.json()["errors"][0]["code"] == "illegal_transition"
    emergency.refresh_from_db()
    assert emergency.status == source
    assert emergency.events.count() == 1
    if ambulance_status:
        assert Ambulance.objects.get(pk=emergency.ambulance_id).status == ambulance_status
    assert not Activity.objects.filter(object_type="emergency").exists()


def test_dispatched_through_status_is_409_even_with_an_ambulance_free(admin_client, emergency, ambulance):
    response = admin_client.post(f"{URL}/{emergency.pk}/status", {"status": "dispatched"})
    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "illegal_transition"
    assert "/dispatch" in response.json()["errors"][0]["detail"]
    emergency.refresh_from_db()
    ambulance.refresh_from_db()
    assert emergency.status == "reported" and emergency.ambulance_id is None and ambulance.status == "available"


@pytest.mark.parametrize("body", [{}, {"status": "teleported"}, {"status": "resolved", "note": "x" * 501}])
def test_bad_status_body_is_400(admin_client, make_emergency_at, body):
    emergency = make_emergency_at("at_hospital")
    response = admin_client.post(f"{URL}/{emergency.pk}/status", body)
    assert response.status_code == 400
    emergency.refresh_from_db()
    assert emergency.status == "at_hospital"


@pytest.mark.parametrize("source", ["resolved", "cancelled"])
def test_resolve_or_cancel_frees_the_ambulance(hospital_admin_client, make_emergency_at, source):
    prior = {"resolved": "at_hospital", "cancelled": "on_scene"}[source]
    emergency = make_emergency_at(prior)
    assert Ambulance.objects.get(pk=emergency.ambulance_id).status == "busy"
    response = hospital_admin_client.post(f"{URL}/{emergency.pk}/status", {"status": source})
    assert response.status_code == 200
    ambulance = Ambulance.objects.get(pk=emergency.ambulance_id)
    assert ambulance.status == "available"
    # Freed for real: it can be dispatched to the next emergency.
    following = EmergencyFactory(hospital=emergency.hospital)
    response = hospital_admin_client.post(f"{URL}/{following.pk}/dispatch", {"ambulance_id": ambulance.pk})
    assert response.status_code == 200


def test_cancel_a_reported_emergency_without_an_ambulance(hospital_admin_client, emergency):
    response = hospital_admin_client.post(f"{URL}/{emergency.pk}/status", {"status": "cancelled", "note": "Prank"})
    assert response.status_code == 200
    assert response.json()["ambulance_id"] is None


# --- who may move it -------------------------------------------------------------------------

DRIVER_MOVES = [(S.DISPATCHED, S.EN_ROUTE), (S.EN_ROUTE, S.ON_SCENE), (S.ON_SCENE, S.TRANSPORTING)]
DRIVER_MOVES += [(S.TRANSPORTING, S.AT_HOSPITAL)]


@pytest.mark.parametrize("source,target", [(str(a), str(b)) for a, b in DRIVER_MOVES])
def test_assigned_driver_moves_en_route_to_at_hospital(driver_client, make_emergency_at, source, target):
    emergency = make_emergency_at(source)
    response = driver_client.post(f"{URL}/{emergency.pk}/status", {"status": target})
    assert response.status_code == 200
    emergency.refresh_from_db()
    assert emergency.status == target


@pytest.mark.parametrize(
    "source,target", [("at_hospital", "resolved"), ("en_route", "cancelled"), ("reported", "cancelled")]
)
def test_assigned_driver_cannot_resolve_or_cancel_403(driver_client, driver_user, make_emergency_at, source, target):
    emergency = make_emergency_at(source)
    if emergency.ambulance_id is None:
        emergency.ambulance = Ambulance.objects.create(
            hospital=emergency.hospital, vehicle_number="R-1", driver=driver_user
        )
        emergency.save()
    response = driver_client.post(f"{URL}/{emergency.pk}/status", {"status": target})
    assert response.status_code == 403
    emergency.refresh_from_db()
    assert emergency.status == source


def test_assigned_driver_making_an_illegal_move_gets_409(driver_client, make_emergency_at):
    emergency = make_emergency_at("dispatched")
    response = driver_client.post(f"{URL}/{emergency.pk}/status", {"status": "on_scene"})
    assert response.status_code == 409 and response.json()["errors"][0]["code"] == "illegal_transition"
    emergency.refresh_from_db()
    assert emergency.status == "dispatched" and emergency.events.count() == 1


def test_another_driver_of_the_same_hospital_sees_but_cannot_move_it_403(hospital, make_emergency_at):
    emergency = make_emergency_at("en_route")
    colleague = client_for(UserFactory(role="ambulance_driver", hospital=hospital))
    assert colleague.get(f"{URL}/{emergency.pk}").status_code == 200
    assert colleague.post(f"{URL}/{emergency.pk}/status", {"status": "on_scene"}).status_code == 403
    emergency.refresh_from_db()
    assert emergency.status == "en_route"


@pytest.mark.parametrize("role_client", ["doctor_client", "patient_client"])
def test_doctors_and_reporters_cannot_move_it_403(request, role_client, make_emergency_at, patient):
    emergency = make_emergency_at("en_route", reporter=patient)
    response = request.getfixturevalue(role_client).post(f"{URL}/{emergency.pk}/status", {"status": "cancelled"})
    assert response.status_code == 403
    emergency.refresh_from_db()
    assert emergency.status == "en_route"


def test_hospital_admin_of_another_hospital_gets_404_on_status(other_hospital_admin_client, make_emergency_at):
    emergency = make_emergency_at("en_route")
    assert other_hospital_admin_client.post(f"{URL}/{emergency.pk}/status", {"status": "cancelled"}).status_code == 404
    emergency.refresh_from_db()
    assert emergency.status == "en_route"


def test_anonymous_gets_401_on_status(api, emergency):
    assert api.post(f"{URL}/{emergency.pk}/status", {"status": "cancelled"}).status_code == 401


# --- who may act is checked before the body ----------------------------------------------------


@pytest.mark.parametrize("body", [{}, {"status": "teleported"}, {"status": "resolved", "note": "x" * 501}])
def test_a_driver_not_on_it_gets_403_whatever_the_status_body(hospital, make_emergency_at, body):
    emergency = make_emergency_at("en_route")
    colleague = client_for(UserFactory(role="ambulance_driver", hospital=hospital))
    response = colleague.post(f"{URL}/{emergency.pk}/status", body, format="json")
    assert response.status_code == 403 and response.json()["errors"][0]["code"] == "permission_denied"
    emergency.refresh_from_db()
    assert emergency.status == "en_route" and emergency.events.count() == 1


@pytest.mark.parametrize(
    "action,body",
    [
        ("dispatch", {"ambulance_id": "not-an-ambulance"}),
        ("forward", {}),
        ("forward", {"hospital_id": -4, "reason": ""}),
        ("status", {"status": "teleported"}),
    ],
)
def test_a_reporting_hospital_admin_of_another_hospital_gets_403_whatever_the_body(
    other_hospital_admin, make_emergency_at, action, body
):
    """The reporter sees its report, but only the emergency's hospital admin (or an admin) acts on it."""
    emergency = make_emergency_at("reported", reporter=other_hospital_admin)
    response = client_for(other_hospital_admin).post(f"{URL}/{emergency.pk}/{action}", body, format="json")
    assert response.status_code == 403 and response.json()["errors"][0]["code"] == "permission_denied"
    emergency.refresh_from_db()
    assert emergency.status == "reported" and emergency.ambulance_id is None


@pytest.mark.parametrize("action,body", [("dispatch", {"ambulance_id": "x"}), ("forward", {}), ("status", {})])
def test_hidden_emergency_is_404_whatever_the_body(other_hospital_admin_client, make_emergency_at, action, body):
    emergency = make_emergency_at("reported")
    response = other_hospital_admin_client.post(f"{URL}/{emergency.pk}/{action}", body, format="json")
    assert response.status_code == 404
    emergency.refresh_from_db()
    assert emergency.status == "reported"
