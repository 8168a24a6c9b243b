"""Visibility, dispatch, forward and the list budget of /api/v1/emergencies."""

import pytest

from accounts.models import Activity
from accounts.tests.factories import HospitalFactory
from accounts.tests.utils import assert_error
from conftest import client_for
from emergency.models import Ambulance, Emergency, EmergencyEvent
from emergency.tests.factories import AmbulanceFactory, EmergencyFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/emergencies"


def attrs(response):
    return {error["attr"] for error in response.json()["errors"]}


# --- visibility ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role_client", ["patient_client", "hospital_admin_client", "doctor_client", "driver_client", "admin_client"]
)
def test_reporter_staff_of_the_hospital_and_admin_see_the_emergency(request, role_client, emergency):
    client = request.getfixturevalue(role_client)
    response = client.get(f"{URL}/{emergency.pk}/")
    assert response.status_code == 200
    assert response.json()["id"] == emergency.pk
    assert [row["id"] for row in client.get(URL).json()["results"]] == [emergency.pk]


@pytest.mark.parametrize(
    "role_client", ["other_patient_client", "donor_client", "other_hospital_admin_client", "other_driver_client"]
)
def test_others_get_404_on_the_emergency(request, role_client, emergency):
    client = request.getfixturevalue(role_client)
    assert client.get(f"{URL}/{emergency.pk}").status_code == 404
    assert client.get(URL).json()["count"] == 0


def test_assigned_driver_of_another_hospitals_ambulance_sees_a_forwarded_emergency(
    make_emergency_at, driver_user, other_hospital
):
    emergency = make_emergency_at("en_route")
    emergency.hospital = other_hospital
    emergency.save()
    assert client_for(driver_user).get(f"{URL}/{emergency.pk}").status_code == 200


def test_driver_of_another_ambulance_cannot_see_or_move_the_emergency_404(
    make_emergency_at, other_driver, other_driver_client
):
    emergency = make_emergency_at("en_route")
    AmbulanceFactory(hospital=other_driver.hospital, driver=other_driver)
    assert other_driver_client.get(f"{URL}/{emergency.pk}").status_code == 404
    response = other_driver_client.post(f"{URL}/{emergency.pk}/status", {"status": "on_scene"})
    assert response.status_code == 404
    emergency.refresh_from_db()
    assert emergency.status == "en_route"


def test_list_filters(admin_client, hospital, other_hospital):
    EmergencyFactory(hospital=hospital, severity="low")
    critical = EmergencyFactory(hospital=hospital, severity="critical", emergency_type="stroke")
    EmergencyFactory(hospital=other_hospital, severity="critical")
    EmergencyFactory(hospital=hospital, severity="critical", status="cancelled")
    response = admin_client.get(URL, {"hospital_id": hospital.pk, "severity": "critical", "is_open": "true"})
    assert [row["id"] for row in response.json()["results"]] == [critical.pk]
    assert admin_client.get(URL, {"emergency_type": "stroke"}).json()["count"] == 1
    assert admin_client.get(URL, {"status": "cancelled"}).json()["count"] == 1
    assert admin_client.get(URL, {"is_open": "false"}).json()["count"] == 1
    assert admin_client.get(URL, {"status": "lost"}).status_code == 400


def test_emergency_list_query_count_does_not_grow_with_rows(admin_client, hospital, django_assert_max_num_queries):
    for index in range(12):
        ambulance = AmbulanceFactory(hospital=hospital, status="dispatched") if index % 2 else None
        emergency = EmergencyFactory(
            hospital=hospital, ambulance=ambulance, status="dispatched" if ambulance else "reported"
        )
        EmergencyEvent.objects.create(emergency=emergency, status=emergency.status, note="more")
    with django_assert_max_num_queries(5):
        response = admin_client.get(URL, {"page_size": 100})
    assert response.status_code == 200 and response.json()["count"] == 12
    assert all(len(row["events"]) == 2 for row in response.json()["results"])


def test_staff_list_query_count_does_not_grow_with_rows(driver_client, hospital, django_assert_max_num_queries):
    for _ in range(10):
        EmergencyFactory(hospital=hospital)
    with django_assert_max_num_queries(5):
        response = driver_client.get(URL)
    assert response.json()["count"] == 10


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_emergencies_are_not_edited_or_deleted_405(admin_client, emergency, method):
    response = getattr(admin_client, method)(f"{URL}/{emergency.pk}", {"status": "resolved"})
    assert response.status_code == 405
    emergency.refresh_from_db()
    assert emergency.status == "reported"


# --- dispatch --------------------------------------------------------------------------------


def test_dispatch_sends_the_nearest_available_ambulance_of_the_hospital(
    hospital_admin_client, hospital, other_hospital
):
    # Emergency at (18.60, 73.90); the hospital is at (18.52, 73.85), ~10 km away.
    emergency = EmergencyFactory(hospital=hospital, latitude=18.60, longitude=73.90)
    AmbulanceFactory(hospital=hospital, latitude=18.70, longitude=74.00)  # ~15 km
    AmbulanceFactory(hospital=hospital)  # no position: counts as at the hospital, ~10 km
    nearest = AmbulanceFactory(hospital=hospital, latitude=18.61, longitude=73.91)  # ~1.5 km
    AmbulanceFactory(hospital=hospital, latitude=18.60, longitude=73.90, status="out_of_service")
    AmbulanceFactory(hospital=other_hospital, latitude=18.60, longitude=73.90)
    response = hospital_admin_client.post(f"{URL}/{emergency.pk}/dispatch", {})
    assert response.status_code == 200, response.content
    assert response.json()["ambulance_id"] == nearest.pk
    assert response.json()["status"] == "dispatched"
    assert response.json()["ambulance"]["vehicle_number"] == nearest.vehicle_number
    nearest.refresh_from_db()
    assert nearest.status == "dispatched"
    assert response.json()["events"][-1]["status"] == "dispatched"
    assert Activity.objects.filter(object_type="emergency", object_id=str(emergency.pk), action="action").exists()


def test_ambulance_without_position_counts_as_at_its_hospital(admin_client, hospital):
    # Emergency right next to the hospital; the positioned ambulance is ~15 km out.
    emergency = EmergencyFactory(hospital=hospital, latitude=18.521, longitude=73.851)
    AmbulanceFactory(hospital=hospital, latitude=18.65, longitude=73.90)
    at_hospital = AmbulanceFactory(hospital=hospital)
    response = admin_client.post(f"{URL}/{emergency.pk}/dispatch")
    assert response.status_code == 200
    assert response.json()["ambulance_id"] == at_hospital.pk


def test_dispatch_a_named_ambulance(hospital_admin_client, emergency, hospital):
    AmbulanceFactory(hospital=hospital, latitude=18.53, longitude=73.86)
    chosen = AmbulanceFactory(hospital=hospital, latitude=19.0, longitude=74.0)
    response = hospital_admin_client.post(f"{URL}/{emergency.pk}/dispatch", {"ambulance_id": chosen.pk})
    assert response.status_code == 200 and response.json()["ambulance_id"] == chosen.pk


@pytest.mark.parametrize("ambulance_status", ["dispatched", "busy", "out_of_service"])
def test_dispatching_an_unavailable_ambulance_is_409(hospital_admin_client, emergency, hospital, ambulance_status):
    ambulance = AmbulanceFactory(hospital=hospital, status=ambulance_status)
    response = hospital_admin_client.post(f"{URL}/{emergency.pk}/dispatch", {"ambulance_id": ambulance.pk})
    expected = "ambulance_unavailable" if ambulance_status == "out_of_service" else "ambulance_busy"
    assert_error(response, 409, code=expected)
    emergency.refresh_from_db()
    assert emergency.status == "reported" and emergency.ambulance_id is None
    ambulance.refresh_from_db()
    assert ambulance.status == ambulance_status


def test_dispatching_an_unknown_ambulance_is_404(hospital_admin_client, emergency):
    response = hospital_admin_client.post(f"{URL}/{emergency.pk}/dispatch", {"ambulance_id": 987654})
    assert response.status_code == 404
    emergency.refresh_from_db()
    assert emergency.status == "reported"


def test_dispatching_another_hospitals_ambulance_is_400(admin_client, emergency, other_hospital):
    ambulance = AmbulanceFactory(hospital=other_hospital)
    response = admin_client.post(f"{URL}/{emergency.pk}/dispatch", {"ambulance_id": ambulance.pk})
    assert_error(response, 400, code="hospital_mismatch", attr="ambulance_id")
    assert attrs(response) == {"ambulance_id"}
    ambulance.refresh_from_db()
    assert ambulance.status == "available"
    emergency.refresh_from_db()
    assert emergency.status == "reported" and emergency.ambulance_id is None


@pytest.mark.parametrize("bad", [0, -1, "x", 2**63])
def test_dispatch_with_a_malformed_ambulance_id_is_400(hospital_admin_client, emergency, bad):
    response = hospital_admin_client.post(f"{URL}/{emergency.pk}/dispatch", {"ambulance_id": bad})
    assert response.status_code == 400
    assert attrs(response) == {"ambulance_id"}


def test_dispatch_with_no_ambulance_available_is_409(hospital_admin_client, emergency, hospital):
    AmbulanceFactory(hospital=hospital, status="out_of_service")
    AmbulanceFactory(hospital=hospital, status="busy")
    response = hospital_admin_client.post(f"{URL}/{emergency.pk}/dispatch")
    assert_error(response, 409, code="no_ambulance_available")
    emergency.refresh_from_db()
    assert emergency.status == "reported" and emergency.ambulance_id is None


def test_dispatch_of_an_address_only_emergency_needs_a_hospital_first_409(admin_client):
    emergency = EmergencyFactory(hospital=None, latitude=None, longitude=None)
    spare = AmbulanceFactory()
    assert_error(admin_client.post(f"{URL}/{emergency.pk}/dispatch"), 409, code="no_hospital_assigned")
    emergency.refresh_from_db()
    spare.refresh_from_db()
    assert emergency.status == "reported" and emergency.ambulance_id is None and spare.status == "available"


def test_a_dispatched_emergency_cannot_be_dispatched_again_409(hospital_admin_client, make_emergency_at, hospital):
    emergency = make_emergency_at("dispatched")
    spare = AmbulanceFactory(hospital=hospital)
    assigned = emergency.ambulance_id
    response = hospital_admin_client.post(f"{URL}/{emergency.pk}/dispatch", {"ambulance_id": spare.pk})
    assert_error(response, 409, code="illegal_transition")
    spare.refresh_from_db()
    assert spare.status == "available"
    emergency.refresh_from_db()
    assert emergency.status == "dispatched" and emergency.ambulance_id == assigned


@pytest.mark.parametrize("role_client", ["doctor_client", "driver_client", "patient_client"])
def test_only_admins_dispatch_403(request, role_client, emergency, ambulance):
    response = request.getfixturevalue(role_client).post(f"{URL}/{emergency.pk}/dispatch")
    assert_error(response, 403, code="permission_denied")
    ambulance.refresh_from_db()
    assert ambulance.status == "available"
    emergency.refresh_from_db()
    assert emergency.status == "reported" and emergency.ambulance_id is None


def test_hospital_admin_of_another_hospital_gets_404_on_dispatch(other_hospital_admin_client, emergency, ambulance):
    assert_error(other_hospital_admin_client.post(f"{URL}/{emergency.pk}/dispatch"), 404, code="not_found")
    emergency.refresh_from_db()
    ambulance.refresh_from_db()
    assert emergency.status == "reported" and ambulance.status == "available"


def test_hospital_admin_who_reported_elsewhere_sees_but_cannot_dispatch_403(hospital_admin, other_hospital):
    emergency = EmergencyFactory(hospital=other_hospital, reporter=hospital_admin)
    AmbulanceFactory(hospital=other_hospital)
    client = client_for(hospital_admin)
    assert client.get(f"{URL}/{emergency.pk}").status_code == 200
    assert_error(client.post(f"{URL}/{emergency.pk}/dispatch"), 403, code="permission_denied")
    emergency.refresh_from_db()
    assert emergency.status == "reported" and emergency.ambulance_id is None


# --- forward ---------------------------------------------------------------------------------


def test_hospital_admin_forwards_to_another_hospital_and_the_ambulance_stays(
    hospital_admin, hospital_admin_client, make_emergency_at, hospital, other_hospital, other_hospital_admin_client
):
    emergency = make_emergency_at("transporting")
    response = hospital_admin_client.post(
        f"{URL}/{emergency.pk}/forward", {"hospital_id": other_hospital.pk, "reason": "No ICU bed free"}
    )
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["hospital_id"] == other_hospital.pk
    assert data["ambulance_id"] == emergency.ambulance_id and data["status"] == "transporting"
    assert data["events"][-1] == {
        "at": data["events"][-1]["at"],
        "status": "transporting",
        "actor_id": hospital_admin.pk,
        "note": "No ICU bed free",
        "from_hospital_id": hospital.pk,
        "to_hospital_id": other_hospital.pk,
    }
    assert Ambulance.objects.get(pk=emergency.ambulance_id).status == "busy"
    # The new hospital's staff see it now; the old hospital's do not.
    assert other_hospital_admin_client.get(f"{URL}/{emergency.pk}").status_code == 200
    assert hospital_admin_client.get(f"{URL}/{emergency.pk}").status_code == 404
    assert Activity.objects.filter(object_type="emergency", object_id=str(emergency.pk), action="action").exists()


def test_new_hospital_admin_resolves_a_forwarded_emergency_and_frees_the_ambulance(
    hospital_admin_client, make_emergency_at, other_hospital, other_hospital_admin_client
):
    emergency = make_emergency_at("at_hospital")
    hospital_admin_client.post(
        f"{URL}/{emergency.pk}/forward", {"hospital_id": other_hospital.pk, "reason": "Burns unit"}
    )
    response = other_hospital_admin_client.post(f"{URL}/{emergency.pk}/status", {"status": "resolved"})
    assert response.status_code == 200
    assert Ambulance.objects.get(pk=emergency.ambulance_id).status == "available"


def test_admin_forwards_an_address_only_emergency_to_a_hospital(admin_client, hospital, hospital_admin_client):
    emergency = EmergencyFactory(hospital=None, latitude=None, longitude=None)
    response = admin_client.post(f"{URL}/{emergency.pk}/forward", {"hospital_id": hospital.pk, "reason": "Nearest"})
    assert response.status_code == 200
    assert response.json()["events"][-1]["from_hospital_id"] is None
    assert hospital_admin_client.get(f"{URL}/{emergency.pk}").status_code == 200


def test_forward_to_an_unknown_or_inactive_hospital_is_404(hospital_admin_client, emergency, hospital):
    inactive = HospitalFactory(is_active=False)
    for target in (987654, inactive.pk):
        response = hospital_admin_client.post(f"{URL}/{emergency.pk}/forward", {"hospital_id": target, "reason": "x"})
        assert response.status_code == 404
    emergency.refresh_from_db()
    assert emergency.hospital_id == hospital.pk


def test_forward_to_the_same_hospital_is_400(hospital_admin_client, emergency, hospital):
    response = hospital_admin_client.post(f"{URL}/{emergency.pk}/forward", {"hospital_id": hospital.pk, "reason": "x"})
    assert response.status_code == 400 and attrs(response) == {"hospital_id"}


@pytest.mark.parametrize(
    "body,field",
    [
        ({"reason": "x"}, "hospital_id"),
        ({"hospital_id": 1}, "reason"),
        ({"hospital_id": 1, "reason": "x" * 501}, "reason"),
    ],
)
def test_forward_input_is_validated_400(hospital_admin_client, emergency, body, field):
    response = hospital_admin_client.post(f"{URL}/{emergency.pk}/forward", body)
    assert response.status_code == 400 and attrs(response) == {field}


@pytest.mark.parametrize("status", ["resolved", "cancelled"])
def test_a_closed_emergency_cannot_be_forwarded_409(admin_client, make_emergency_at, other_hospital, status):
    emergency = make_emergency_at(status)
    response = admin_client.post(f"{URL}/{emergency.pk}/forward", {"hospital_id": other_hospital.pk, "reason": "x"})
    assert_error(response, 409, code="emergency_closed")
    emergency.refresh_from_db()
    assert emergency.hospital_id != other_hospital.pk and emergency.status == status


@pytest.mark.parametrize("role_client", ["doctor_client", "driver_client", "patient_client"])
def test_only_the_hospitals_admin_or_admin_forwards_403(request, role_client, emergency, other_hospital):
    client = request.getfixturevalue(role_client)
    response = client.post(f"{URL}/{emergency.pk}/forward", {"hospital_id": other_hospital.pk, "reason": "x"})
    assert_error(response, 403, code="permission_denied")
    emergency.refresh_from_db()
    assert emergency.hospital_id != other_hospital.pk


def test_hospital_admin_of_another_hospital_cannot_forward_404(other_hospital_admin_client, emergency, other_hospital):
    response = other_hospital_admin_client.post(
        f"{URL}/{emergency.pk}/forward", {"hospital_id": other_hospital.pk, "reason": "mine now"}
    )
    assert_error(response, 404, code="not_found")
    emergency.refresh_from_db()
    assert emergency.hospital_id != other_hospital.pk


def test_full_flow_events_trail(api, hospital, hospital_admin_client, driver_user, ambulance):
    created = api.post(
        URL, {"contact_number": "112", "emergency_type": "trauma", "latitude": 18.53, "longitude": 73.86}
    ).json()
    driver = client_for(driver_user)
    assert hospital_admin_client.post(f"{URL}/{created['id']}/dispatch").status_code == 200
    for status in ("en_route", "on_scene", "transporting", "at_hospital"):
        assert driver.post(f"{URL}/{created['id']}/status", {"status": status, "note": status}).status_code == 200
    final = hospital_admin_client.post(f"{URL}/{created['id']}/status", {"status": "resolved"}).json()
    assert [event["status"] for event in final["events"]] == [
        "reported",
        "dispatched",
        "en_route",
        "on_scene",
        "transporting",
        "at_hospital",
        "resolved",
    ]
    assert final["events"][2]["actor_id"] == driver_user.pk and final["events"][2]["note"] == "en_route"
    ambulance.refresh_from_db()
    assert ambulance.status == "available"
    assert Emergency.objects.get(pk=created["id"]).status == "resolved"


@pytest.mark.parametrize("name", ["hospital_id", "ambulance_id", "reporter_id"])
@pytest.mark.parametrize("value", ["1.5", "0", "-1", "1e3"])
def test_emergency_list_rejects_id_filter_that_is_not_an_id_with_400(admin_client, name, value):
    response = admin_client.get(URL, {name: value})
    assert response.status_code == 400
    assert [error["attr"] for error in response.json()["errors"]] == [name]


@pytest.mark.parametrize("name", ["hospital_id", "driver_id"])
def test_ambulance_list_rejects_fractional_id_filter_with_400(admin_client, name):
    response = admin_client.get("/api/v1/ambulances/", {name: "2.5"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == name


@pytest.mark.parametrize("value", ["2026-11-25", "2026-11-25T10:00:00", "2026-11-25 10:00:00+00:00", "yesterday"])
def test_emergency_created_after_rejects_anything_but_rfc3339_with_400(admin_client, value):
    response = admin_client.get(URL, {"created_after": value})
    assert response.status_code == 400
    assert [error["attr"] for error in response.json()["errors"]] == ["created_after"]


@pytest.mark.parametrize("value", ["2026-11-25T10:00:00Z", "2026-11-25T10:00:00.5+05:30"])
def test_emergency_created_after_takes_rfc3339(admin_client, value):
    assert admin_client.get(URL, {"created_after": value}).status_code == 200
