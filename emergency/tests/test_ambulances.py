import pytest

from accounts.models import Activity
from accounts.tests.factories import HospitalFactory, UserFactory
from accounts.tests.utils import assert_error
from conftest import client_for
from emergency.models import Ambulance, AmbulanceLocation
from emergency.tests.factories import AmbulanceFactory, EmergencyFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/ambulances"


def errors(response):
    return {(error["attr"], error["code"]) for error in response.json()["errors"]}


def attrs(response):
    return {error["attr"] for error in response.json()["errors"]}


# --- create ----------------------------------------------------------------------------------


def test_admin_creates_ambulance_for_a_hospital(admin_client, hospital, driver_user):
    body = {"hospital_id": hospital.pk, "vehicle_number": "MH-12-AB-1234", "ambulance_type": "advanced"}
    response = admin_client.post(URL, {**body, "driver_id": driver_user.pk})
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["hospital_id"] == hospital.pk
    assert data["vehicle_number"] == "MH-12-AB-1234"
    assert data["ambulance_type"] == "advanced"
    assert data["driver_id"] == driver_user.pk
    assert data["status"] == "available"
    assert data["latitude"] is None and data["location_updated_at"] is None
    assert data["current_emergency_id"] is None
    assert Ambulance.objects.filter(pk=data["id"], hospital=hospital, driver=driver_user).exists()
    assert Activity.objects.filter(action="create", object_type="ambulance", object_id=str(data["id"])).exists()


def test_hospital_admin_creates_ambulance_for_its_own_hospital_by_default(hospital_admin_client, hospital):
    response = hospital_admin_client.post(URL + "/", {"vehicle_number": "KA-01-1"})
    assert response.status_code == 201, response.content
    assert response.json()["hospital_id"] == hospital.pk


def test_hospital_admin_cannot_create_ambulance_for_another_hospital(hospital_admin_client, other_hospital):
    response = hospital_admin_client.post(URL, {"vehicle_number": "KA-01-2", "hospital_id": other_hospital.pk})
    assert response.status_code == 403
    assert not Ambulance.objects.exists()


def test_admin_must_name_the_hospital(admin_client):
    response = admin_client.post(URL, {"vehicle_number": "KA-01-3"})
    assert response.status_code == 400
    assert attrs(response) == {"hospital_id"}


def test_create_with_position_starts_the_location_history(hospital_admin_client):
    response = hospital_admin_client.post(URL, {"vehicle_number": "KA-01-4", "latitude": 18.5, "longitude": 73.8})
    assert response.status_code == 201, response.content
    assert response.json()["location_updated_at"] is not None
    assert AmbulanceLocation.objects.filter(ambulance_id=response.json()["id"], latitude=18.5).count() == 1


def test_duplicate_vehicle_number_is_409_case_insensitive(hospital_admin_client, hospital):
    AmbulanceFactory(hospital=hospital, vehicle_number="MH-12-XY-9")
    response = hospital_admin_client.post(URL, {"vehicle_number": "mh-12-xy-9"})
    assert_error(response, 409, code="unique")
    assert Ambulance.objects.count() == 1


@pytest.mark.parametrize(
    "body,field",
    [
        ({}, "vehicle_number"),
        ({"vehicle_number": "   "}, "vehicle_number"),
        ({"vehicle_number": "X" * 33}, "vehicle_number"),
        ({"vehicle_number": "A-1", "ambulance_type": "helicopter"}, "ambulance_type"),
        ({"vehicle_number": "A-1", "latitude": 91, "longitude": 0}, "latitude"),
        ({"vehicle_number": "A-1", "latitude": 10}, "longitude"),
        ({"vehicle_number": "A-1", "driver_id": 999999}, "driver_id"),
        ({"vehicle_number": "A-1", "hospital_id": 999999}, "hospital_id"),
    ],
)
def test_bad_ambulance_input_is_400_naming_the_field(hospital_admin_client, body, field):
    response = hospital_admin_client.post(URL, body)
    assert response.status_code == 400, response.content
    assert field in attrs(response)
    assert not Ambulance.objects.exists()


def test_driver_must_be_an_ambulance_driver_of_the_same_hospital(hospital_admin_client, doctor_user, other_hospital):
    foreign_driver = UserFactory(role="ambulance_driver", hospital=other_hospital)
    for driver in (doctor_user, foreign_driver):
        response = hospital_admin_client.post(URL, {"vehicle_number": f"D-{driver.pk}", "driver_id": driver.pk})
        assert response.status_code == 400
        assert attrs(response) == {"driver_id"}
    assert not Ambulance.objects.exists()


@pytest.mark.parametrize("role_client", ["doctor_client", "driver_client", "patient_client", "donor_client"])
def test_only_admins_and_hospital_admins_create_ambulances(request, role_client):
    response = request.getfixturevalue(role_client).post(URL, {"vehicle_number": "Z-1"})
    assert response.status_code == 403
    assert not Ambulance.objects.exists()


# --- read ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role_client", ["patient_client", "donor_client"])
def test_patients_and_donors_get_403_on_ambulances(request, role_client, ambulance):
    client = request.getfixturevalue(role_client)
    assert client.get(URL).status_code == 403
    assert client.get(f"{URL}/{ambulance.pk}").status_code == 403


def test_anonymous_gets_401_on_ambulances(api, ambulance):
    assert api.get(URL).status_code == 401


@pytest.mark.parametrize("role_client", ["hospital_admin_client", "doctor_client", "driver_client", "admin_client"])
def test_staff_of_its_hospital_and_admin_see_the_ambulance(request, role_client, ambulance):
    client = request.getfixturevalue(role_client)
    response = client.get(f"{URL}/{ambulance.pk}/")
    assert response.status_code == 200
    assert response.json()["driver"]["id"] == ambulance.driver_id
    assert [row["id"] for row in client.get(URL).json()["results"]] == [ambulance.pk]


def test_staff_of_another_hospital_get_403_and_an_empty_list(
    other_hospital_admin_client, other_driver_client, ambulance
):
    for client in (other_hospital_admin_client, other_driver_client):
        assert client.get(f"{URL}/{ambulance.pk}").status_code == 403
        assert client.get(URL).json()["count"] == 0


def test_ambulance_filters(admin_client, hospital, other_hospital):
    AmbulanceFactory(hospital=hospital, status="out_of_service")
    kept = AmbulanceFactory(hospital=hospital, ambulance_type="advanced")
    AmbulanceFactory(hospital=other_hospital)
    response = admin_client.get(URL, {"hospital_id": hospital.pk, "status": "available", "ambulance_type": "advanced"})
    assert [row["id"] for row in response.json()["results"]] == [kept.pk]
    assert admin_client.get(URL, {"status": "flying"}).status_code == 400


def test_ambulance_list_query_count_does_not_grow_with_rows(admin_client, hospital, django_assert_max_num_queries):
    for index in range(15):
        driver = UserFactory(role="ambulance_driver", hospital=hospital)
        ambulance = AmbulanceFactory(hospital=hospital, driver=driver, status="dispatched")
        if index % 2:
            EmergencyFactory(hospital=hospital, ambulance=ambulance, status="dispatched")
    with django_assert_max_num_queries(4):
        response = admin_client.get(URL, {"page_size": 100})
    assert response.status_code == 200 and response.json()["count"] == 15
    assert sum(1 for row in response.json()["results"] if row["current_emergency_id"]) == 7


# --- update and delete -----------------------------------------------------------------------


def test_hospital_admin_updates_its_ambulance(hospital_admin_client, ambulance):
    response = hospital_admin_client.patch(f"{URL}/{ambulance.pk}", {"ambulance_type": "transport", "driver_id": None})
    assert response.status_code == 200, response.content
    ambulance.refresh_from_db()
    assert ambulance.ambulance_type == "transport" and ambulance.driver_id is None
    assert Activity.objects.filter(action="update", object_type="ambulance", object_id=str(ambulance.pk)).exists()


def test_hospital_admin_of_another_hospital_cannot_update_it(other_hospital_admin_client, ambulance):
    response = other_hospital_admin_client.patch(f"{URL}/{ambulance.pk}", {"ambulance_type": "transport"})
    assert response.status_code == 403
    ambulance.refresh_from_db()
    assert ambulance.ambulance_type == "basic"


def test_hospital_admin_cannot_move_an_ambulance_to_another_hospital(hospital_admin_client, ambulance, other_hospital):
    response = hospital_admin_client.patch(f"{URL}/{ambulance.pk}", {"hospital_id": other_hospital.pk})
    assert response.status_code == 403
    ambulance.refresh_from_db()
    assert ambulance.hospital_id != other_hospital.pk


def test_admin_moves_an_idle_ambulance_and_its_old_driver_is_dropped(admin_client, ambulance, other_hospital):
    response = admin_client.patch(f"{URL}/{ambulance.pk}", {"hospital_id": other_hospital.pk})
    assert response.status_code == 200, response.content
    ambulance.refresh_from_db()
    assert ambulance.hospital_id == other_hospital.pk and ambulance.driver_id is None


def test_ambulance_on_an_open_emergency_cannot_change_hospital(admin_client, ambulance, other_hospital):
    EmergencyFactory(hospital=ambulance.hospital, ambulance=ambulance, status="en_route")
    response = admin_client.patch(f"{URL}/{ambulance.pk}", {"hospital_id": other_hospital.pk})
    assert_error(response, 409, code="ambulance_busy")
    ambulance.refresh_from_db()
    assert ambulance.hospital_id != other_hospital.pk


def test_renaming_to_an_existing_vehicle_number_is_409(hospital_admin_client, ambulance):
    AmbulanceFactory(hospital=ambulance.hospital, vehicle_number="TAKEN-1")
    response = hospital_admin_client.patch(f"{URL}/{ambulance.pk}", {"vehicle_number": "TAKEN-1"})
    assert_error(response, 409, code="unique")
    ambulance.refresh_from_db()
    assert ambulance.vehicle_number != "TAKEN-1"
    # Its own number is not a duplicate of itself.
    assert (
        hospital_admin_client.patch(f"{URL}/{ambulance.pk}", {"vehicle_number": ambulance.vehicle_number}).status_code
        == 200
    )


def test_delete_ambulance_is_405_and_keeps_the_row(admin_client, ambulance):
    response = admin_client.delete(f"{URL}/{ambulance.pk}")
    assert response.status_code == 405
    assert Ambulance.objects.filter(pk=ambulance.pk).exists()


# --- location --------------------------------------------------------------------------------


def test_driver_reports_location_and_it_is_kept_as_history(driver_client, ambulance):
    first = driver_client.post(f"{URL}/{ambulance.pk}/location", {"latitude": 18.6, "longitude": 73.9})
    assert first.status_code == 200, first.content
    second = driver_client.post(f"{URL}/{ambulance.pk}/location/", {"latitude": -33.9, "longitude": 151.2})
    assert second.status_code == 200
    assert second.json()["latitude"] == -33.9 and second.json()["longitude"] == 151.2
    assert second.json()["location_updated_at"] >= first.json()["location_updated_at"]
    history = list(AmbulanceLocation.objects.filter(ambulance=ambulance).values_list("latitude", flat=True))
    assert history == [-33.9, 18.6]
    listed = driver_client.get(f"{URL}/{ambulance.pk}/locations")
    assert listed.status_code == 200
    assert [row["latitude"] for row in listed.json()["results"]] == [-33.9, 18.6]
    assert listed.json()["results"][0]["recorded_by_id"] == ambulance.driver_id


def test_hospital_admin_reports_location(hospital_admin_client, ambulance):
    response = hospital_admin_client.post(f"{URL}/{ambulance.pk}/location", {"latitude": 0, "longitude": 0})
    assert response.status_code == 200
    assert AmbulanceLocation.objects.filter(ambulance=ambulance).count() == 1


def test_another_driver_of_the_same_hospital_cannot_report_its_location(hospital, ambulance):
    colleague = UserFactory(role="ambulance_driver", hospital=hospital)
    response = client_for(colleague).post(f"{URL}/{ambulance.pk}/location", {"latitude": 1, "longitude": 1})
    assert response.status_code == 403
    ambulance.refresh_from_db()
    assert ambulance.latitude == 18.521 and not AmbulanceLocation.objects.exists()


def test_doctor_cannot_report_location(doctor_client, ambulance):
    response = doctor_client.post(f"{URL}/{ambulance.pk}/location", {"latitude": 1, "longitude": 1})
    assert_error(response, 403, code="permission_denied")
    ambulance.refresh_from_db()
    assert ambulance.latitude != 1 and not AmbulanceLocation.objects.exists()


def test_driver_of_another_hospital_gets_403_on_location(other_driver_client, ambulance):
    response = other_driver_client.post(f"{URL}/{ambulance.pk}/location", {"latitude": 1, "longitude": 1})
    assert response.status_code == 403
    ambulance.refresh_from_db()
    assert ambulance.latitude != 1


@pytest.mark.parametrize(
    "body,field",
    [
        ({"latitude": 90.0001, "longitude": 0}, "latitude"),
        ({"latitude": -91, "longitude": 0}, "latitude"),
        ({"latitude": 0, "longitude": 180.5}, "longitude"),
        ({"latitude": 0, "longitude": -181}, "longitude"),
        ({"latitude": "nan", "longitude": 0}, "latitude"),
        ({"latitude": 0, "longitude": "Infinity"}, "longitude"),
        ({"latitude": "north", "longitude": 0}, "latitude"),
        ({"latitude": True, "longitude": 0}, "latitude"),
        ({"longitude": 0}, "latitude"),
        ({"latitude": 0}, "longitude"),
    ],
)
def test_location_out_of_range_or_missing_is_400(driver_client, ambulance, body, field):
    response = driver_client.post(f"{URL}/{ambulance.pk}/location", body)
    assert response.status_code == 400, response.content
    assert field in attrs(response)
    assert not AmbulanceLocation.objects.exists()


def test_location_bounds_are_inclusive(driver_client, ambulance):
    response = driver_client.post(f"{URL}/{ambulance.pk}/location", {"latitude": -90, "longitude": 180})
    assert response.status_code == 200


# --- status ----------------------------------------------------------------------------------


def test_hospital_admin_sets_out_of_service_and_back(hospital_admin_client, ambulance):
    response = hospital_admin_client.post(f"{URL}/{ambulance.pk}/status", {"status": "out_of_service"})
    assert response.status_code == 200 and response.json()["status"] == "out_of_service"
    response = hospital_admin_client.post(f"{URL}/{ambulance.pk}/status", {"status": "available"})
    assert response.status_code == 200 and response.json()["status"] == "available"
    assert Activity.objects.filter(action="action", object_type="ambulance", object_id=str(ambulance.pk)).count() == 2


def test_ambulance_on_an_open_emergency_cannot_be_set_available(hospital_admin_client, ambulance):
    ambulance.status = "busy"
    ambulance.save()
    EmergencyFactory(hospital=ambulance.hospital, ambulance=ambulance, status="on_scene")
    for status in ("available", "out_of_service"):
        response = hospital_admin_client.post(f"{URL}/{ambulance.pk}/status", {"status": status})
        assert response.status_code == 409
        assert response.json()["errors"][0]["code"] == "ambulance_busy"
    ambulance.refresh_from_db()
    assert ambulance.status == "busy"


def test_ambulance_freed_by_a_closed_emergency_can_be_set_available(hospital_admin_client, ambulance):
    EmergencyFactory(hospital=ambulance.hospital, ambulance=ambulance, status="resolved")
    ambulance.status = "out_of_service"
    ambulance.save()
    response = hospital_admin_client.post(f"{URL}/{ambulance.pk}/status", {"status": "available"})
    assert response.status_code == 200


@pytest.mark.parametrize("status", ["dispatched", "busy", "parked", ""])
def test_dispatched_and_busy_are_not_set_by_hand_400(hospital_admin_client, ambulance, status):
    response = hospital_admin_client.post(f"{URL}/{ambulance.pk}/status", {"status": status})
    assert response.status_code == 400
    assert attrs(response) == {"status"}
    ambulance.refresh_from_db()
    assert ambulance.status == "available"


@pytest.mark.parametrize("role_client", ["driver_client", "doctor_client"])
def test_drivers_and_doctors_cannot_set_ambulance_status(request, role_client, ambulance):
    response = request.getfixturevalue(role_client).post(f"{URL}/{ambulance.pk}/status", {"status": "out_of_service"})
    assert response.status_code == 403
    ambulance.refresh_from_db()
    assert ambulance.status == "available"


def test_admin_sets_status_of_any_hospitals_ambulance(admin_client):
    ambulance = AmbulanceFactory(hospital=HospitalFactory())
    assert admin_client.post(f"{URL}/{ambulance.pk}/status", {"status": "out_of_service"}).status_code == 200


def test_patch_with_one_coordinate_keeps_the_stored_other_and_moves_the_ambulance(hospital_admin_client, ambulance):
    response = hospital_admin_client.patch(f"{URL}/{ambulance.pk}", {"latitude": 18.6}, format="json")
    assert response.status_code == 200, response.content
    ambulance.refresh_from_db()
    assert (ambulance.latitude, ambulance.longitude) == (18.6, 73.851)
    assert AmbulanceLocation.objects.filter(ambulance=ambulance, latitude=18.6, longitude=73.851).count() == 1
    response = hospital_admin_client.patch(f"{URL}/{ambulance.pk}", {"longitude": 73.9}, format="json")
    assert response.status_code == 200, response.content
    ambulance.refresh_from_db()
    assert (ambulance.latitude, ambulance.longitude) == (18.6, 73.9)


def test_patch_clearing_both_coordinates_forgets_the_position(hospital_admin_client, ambulance):
    body = {"latitude": None, "longitude": None}
    response = hospital_admin_client.patch(f"{URL}/{ambulance.pk}", body, format="json")
    assert response.status_code == 200, response.content
    ambulance.refresh_from_db()
    assert (ambulance.latitude, ambulance.longitude, ambulance.location_updated_at) == (None, None, None)


@pytest.mark.parametrize("body", [{}, {"latitude": 91, "longitude": 0}, {"latitude": "north", "longitude": None}])
def test_another_driver_of_the_same_hospital_gets_403_on_location_whatever_the_body(hospital, ambulance, body):
    colleague = UserFactory(role="ambulance_driver", hospital=hospital)
    response = client_for(colleague).post(f"{URL}/{ambulance.pk}/location", body, format="json")
    assert_error(response, 403, code="permission_denied")
    ambulance.refresh_from_db()
    assert ambulance.latitude == 18.521 and not AmbulanceLocation.objects.exists()
