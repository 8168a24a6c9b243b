"""/api/v1/users (API.md 4): admin CRUD, hospital-admin scoping, filters, pagination, deactivation."""

import pytest

from accounts.models import User
from accounts.tests.factories import PASSWORD, HospitalFactory, UserFactory
from accounts.tests.utils import assert_error, login

pytestmark = pytest.mark.django_db

URL = "/api/v1/users"


def new_user(**overrides):
    body = {
        "username": "newbie",
        "fullname": "New Person",
        "email": "newbie@example.org",
        "password": "Fresh-Pass-123",
    }
    body.update(overrides)
    return body


def ids(response) -> set:
    return {row["id"] for row in response.json()["results"]}


# --- who may use the endpoint ---------------------------------------------------------------


def test_anonymous_is_401(api):
    assert_error(api.get(URL), 401)
    assert_error(api.post(URL, new_user(), format="json"), 401)


@pytest.mark.parametrize("who", ["patient_client", "donor_client", "doctor_client", "driver_client"])
def test_non_managers_are_403(request, who, patient):
    client = request.getfixturevalue(who)
    assert_error(client.get(URL), 403)
    assert_error(client.get(f"{URL}/{patient.pk}"), 403)
    assert_error(client.post(URL, new_user(), format="json"), 403)
    assert_error(client.patch(f"{URL}/{patient.pk}", {"fullname": "Hacked"}, format="json"), 403)
    assert_error(client.delete(f"{URL}/{patient.pk}"), 403)
    patient.refresh_from_db()
    assert patient.fullname != "Hacked" and patient.is_active
    assert not User.objects.filter(username="newbie").exists()


# --- admin ----------------------------------------------------------------------------------


def test_admin_lists_every_account(admin_client, admin_user, patient, hospital_admin, doctor_user, donor):
    response = admin_client.get(URL)
    assert response.status_code == 200
    assert ids(response) == {admin_user.pk, patient.pk, hospital_admin.pk, doctor_user.pk, donor.pk}
    assert "password" not in response.content.decode()


@pytest.mark.parametrize("role", ["user", "donor"])
def test_admin_creates_patient_or_donor(admin_client, api, role):
    response = admin_client.post(URL, new_user(role=role), format="json")
    assert response.status_code == 201, response.content
    user = User.objects.get(username="newbie")
    assert user.role == role and user.hospital_id is None and not user.is_staff
    assert login(api, "newbie", "Fresh-Pass-123").status_code == 200


@pytest.mark.parametrize("role", ["hospital_admin", "ambulance_driver"])
def test_admin_creates_staff_of_any_hospital(admin_client, other_hospital, role):
    response = admin_client.post(URL, new_user(role=role, hospital_id=other_hospital.pk), format="json")
    assert response.status_code == 201, response.content
    assert response.json()["hospital_id"] == other_hospital.pk
    assert User.objects.get(username="newbie").hospital_id == other_hospital.pk


def test_admin_creates_admin_who_is_django_staff_and_superuser(admin_client, api):
    response = admin_client.post(URL, new_user(role="admin"), format="json")
    assert response.status_code == 201, response.content
    user = User.objects.get(username="newbie")
    assert user.is_staff and user.is_superuser
    assert login(api, "newbie", "Fresh-Pass-123", path="/auth/admin/login").status_code == 200


def test_role_doctor_through_users_is_400(admin_client, hospital):
    response = admin_client.post(URL, new_user(role="doctor", hospital_id=hospital.pk), format="json")
    assert_error(response, 400, attr="role")
    assert not User.objects.filter(username="newbie").exists()


def test_role_doctor_by_patch_is_400(admin_client, driver_user):
    assert_error(admin_client.patch(f"{URL}/{driver_user.pk}", {"role": "doctor"}, format="json"), 400, attr="role")
    driver_user.refresh_from_db()
    assert driver_user.role == "ambulance_driver"


def test_staff_role_without_hospital_is_400(admin_client):
    assert_error(admin_client.post(URL, new_user(role="ambulance_driver"), format="json"), 400, attr="hospital_id")


def test_patient_with_hospital_is_400(admin_client, hospital):
    assert_error(admin_client.post(URL, new_user(hospital_id=hospital.pk), format="json"), 400, attr="hospital_id")


def test_unknown_hospital_id_is_400_naming_it(admin_client):
    response = admin_client.post(URL, new_user(role="ambulance_driver", hospital_id=987654), format="json")
    assert_error(response, 400, code="does_not_exist", attr="hospital_id")


def test_password_required_on_create_and_weak_password_is_400(admin_client):
    body = new_user()
    del body["password"]
    assert_error(admin_client.post(URL, body, format="json"), 400, attr="password")
    assert_error(admin_client.post(URL, new_user(password="abc"), format="json"), 400, attr="password")
    assert not User.objects.filter(username="newbie").exists()


def test_duplicate_username_or_email_is_409(admin_client, patient):
    assert_error(
        admin_client.post(URL, new_user(username=patient.username.upper()), format="json"), 409, attr="username"
    )
    assert_error(admin_client.post(URL, new_user(email=patient.email.upper()), format="json"), 409, attr="email")
    assert User.objects.filter(email__iexact=patient.email).count() == 1


def test_admin_retrieves_and_updates_any_account(admin_client, patient):
    response = admin_client.get(f"{URL}/{patient.pk}")
    assert response.status_code == 200 and response.json()["username"] == patient.username
    response = admin_client.patch(f"{URL}/{patient.pk}", {"fullname": "Renamed", "role": "donor"}, format="json")
    assert response.status_code == 200, response.content
    patient.refresh_from_db()
    assert (patient.fullname, patient.role) == ("Renamed", "donor")


def test_admin_put_replaces_fields(admin_client, patient):
    body = {"username": patient.username, "fullname": "Put Name", "email": "put@example.org", "role": "user"}
    response = admin_client.put(f"{URL}/{patient.pk}", body, format="json")
    assert response.status_code == 200, response.content
    patient.refresh_from_db()
    assert (patient.fullname, patient.email) == ("Put Name", "put@example.org")
    assert patient.check_password(PASSWORD)


def test_admin_rename_to_taken_username_is_409(admin_client, patient, other_patient):
    response = admin_client.patch(f"{URL}/{patient.pk}", {"username": other_patient.username}, format="json")
    assert_error(response, 409, attr="username")


def test_admin_password_reset_refuses_old_tokens(admin_client, api, patient):
    old = login(api, patient.username, PASSWORD).json()
    response = admin_client.patch(f"{URL}/{patient.pk}", {"password": "Reset-Pass-4567"}, format="json")
    assert response.status_code == 200, response.content
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {old['access']}")
    assert_error(api.get("/auth/profile"), 401)
    assert login(APIClientFresh(), patient.username, "Reset-Pass-4567").status_code == 200


def APIClientFresh():  # noqa: N802 - reads like the class it returns
    from rest_framework.test import APIClient

    return APIClient()


def test_privileged_fields_are_never_applied(admin_client, hospital_admin_client, driver_user):
    for client in (admin_client, hospital_admin_client):
        response = client.patch(
            f"{URL}/{driver_user.pk}", {"is_staff": True, "is_superuser": True, "auth_version": 0}, format="json"
        )
        assert response.status_code in (200, 400), response.content
        driver_user.refresh_from_db()
        assert not driver_user.is_staff and not driver_user.is_superuser


# --- DELETE deactivates ---------------------------------------------------------------------


def test_delete_deactivates_keeps_data_and_refuses_tokens(admin_client, api, patient):
    pair = login(api, patient.username, PASSWORD).json()
    response = admin_client.delete(f"{URL}/{patient.pk}")
    assert response.status_code == 204 and response.content == b""
    patient.refresh_from_db()
    assert patient.is_active is False and patient.username and patient.email
    client = APIClientFresh()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
    assert_error(client.get("/auth/profile"), 401)
    assert_error(api.post("/auth/refresh", {"refresh": pair["refresh"]}, format="json"), 401)
    assert_error(login(APIClientFresh(), patient.username, PASSWORD), 401)
    # Still listed for the admin, with is_active false.
    assert admin_client.get(f"{URL}/{patient.pk}").json()["is_active"] is False


def test_reactivation_by_admin_lets_the_user_sign_in_again(admin_client, api, patient):
    admin_client.delete(f"{URL}/{patient.pk}")
    response = admin_client.patch(f"{URL}/{patient.pk}", {"is_active": True}, format="json")
    assert response.status_code == 200, response.content
    assert login(api, patient.username, PASSWORD).status_code == 200


def test_admin_cannot_deactivate_itself(admin_client, admin_user):
    assert_error(admin_client.delete(f"{URL}/{admin_user.pk}"), 409, code="self_deactivation")
    admin_user.refresh_from_db()
    assert admin_user.is_active


def test_unknown_user_is_404(admin_client):
    assert_error(admin_client.get(f"{URL}/987654"), 404)
    assert_error(admin_client.get(f"{URL}/99999999999999999999999999"), 404)
    assert_error(admin_client.delete(f"{URL}/987654"), 404)
    assert_error(admin_client.get(f"{URL}/abc"), 404)


# --- filters and search ---------------------------------------------------------------------


def test_filter_by_role(admin_client, patient, donor, driver_user):
    assert ids(admin_client.get(URL, {"role": "donor"})) == {donor.pk}
    assert ids(admin_client.get(URL, {"role": "ambulance_driver"})) == {driver_user.pk}


def test_filter_by_hospital_id(admin_client, hospital, other_hospital, driver_user, doctor_user):
    other_staff = UserFactory(role="ambulance_driver", hospital=other_hospital)
    assert ids(admin_client.get(URL, {"hospital_id": hospital.pk})) == {driver_user.pk, doctor_user.pk}
    assert ids(admin_client.get(URL, {"hospital_id": other_hospital.pk})) == {other_staff.pk}


def test_filter_by_is_active(admin_client, admin_user, patient, other_patient):
    User.objects.filter(pk=other_patient.pk).update(is_active=False)
    assert ids(admin_client.get(URL, {"is_active": "false"})) == {other_patient.pk}
    assert ids(admin_client.get(URL, {"is_active": "true"})) == {admin_user.pk, patient.pk}


@pytest.mark.parametrize("term", ["zanzibar", "ZANZI", "Zanzibar Khan", "zk@islands"])
def test_search_username_fullname_email(admin_client, patient, term):
    target = UserFactory(username="zanzibar", fullname="Zanzibar Khan", email="zk@islands.example")
    assert ids(admin_client.get(URL, {"search": term})) == {target.pk}


@pytest.mark.parametrize(
    "params,attr",
    [({"role": "pilot"}, "role"), ({"hospital_id": "abc"}, "hospital_id"), ({"is_active": "maybe"}, "is_active")],
)
def test_invalid_filter_values_are_400_naming_the_filter(admin_client, params, attr):
    assert_error(admin_client.get(URL, params), 400, attr=attr)


# --- pagination -----------------------------------------------------------------------------


def test_pagination_shape_default_page_size_and_cap(admin_client, django_assert_max_num_queries):
    hospital = HospitalFactory()
    UserFactory.create_batch(60, role="ambulance_driver", hospital=hospital)
    UserFactory.create_batch(60)
    with django_assert_max_num_queries(6):
        response = admin_client.get(URL)
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 121 and len(body["results"]) == 20
    assert body["previous"] is None and "page=2" in body["next"]
    assert len(admin_client.get(URL, {"page_size": 5}).json()["results"]) == 5
    capped = admin_client.get(URL, {"page_size": 1000})
    assert len(capped.json()["results"]) == 100
    last = admin_client.get(URL, {"page_size": 100, "page": 2}).json()
    assert len(last["results"]) == 21 and last["next"] is None and last["previous"]
    assert_error(admin_client.get(URL, {"page": 99}), 404)
    for junk in ("abc", "-1", "0"):
        # Junk page sizes are ignored (DRF) or refused with a clean 400, never a 500.
        response = admin_client.get(URL, {"page_size": junk})
        if response.status_code != 200:
            assert_error(response, 400)


def test_list_query_count_does_not_grow_with_rows(hospital_admin_client, hospital, django_assert_max_num_queries):
    UserFactory.create_batch(40, role="ambulance_driver", hospital=hospital)
    with django_assert_max_num_queries(6):
        response = hospital_admin_client.get(URL, {"page_size": 100})
    assert response.json()["count"] == 41


# --- hospital admin -------------------------------------------------------------------------


def test_hospital_admin_lists_only_staff_of_its_hospital(
    hospital_admin_client, hospital_admin, doctor_user, driver_user, patient, admin_user, other_hospital
):
    UserFactory(role="ambulance_driver", hospital=other_hospital)
    UserFactory(role="hospital_admin", hospital=other_hospital)
    response = hospital_admin_client.get(URL)
    assert response.status_code == 200
    assert ids(response) == {hospital_admin.pk, doctor_user.pk, driver_user.pk}
    assert ids(hospital_admin_client.get(URL, {"hospital_id": other_hospital.pk})) == set()


def test_hospital_admin_cannot_see_other_hospitals_users_or_patients(
    hospital_admin_client, other_hospital, patient, admin_user
):
    stranger = UserFactory(role="ambulance_driver", hospital=other_hospital)
    for target in (stranger, patient, admin_user):
        assert_error(hospital_admin_client.get(f"{URL}/{target.pk}"), 404)
        assert_error(hospital_admin_client.patch(f"{URL}/{target.pk}", {"fullname": "X"}, format="json"), 404)
        assert_error(hospital_admin_client.delete(f"{URL}/{target.pk}"), 404)
        target.refresh_from_db()
        assert target.fullname != "X" and target.is_active


@pytest.mark.parametrize("role", ["ambulance_driver", "hospital_admin"])
def test_hospital_admin_creates_staff_of_its_own_hospital(hospital_admin_client, hospital, role):
    response = hospital_admin_client.post(URL, new_user(role=role, hospital_id=hospital.pk), format="json")
    assert response.status_code == 201, response.content
    assert User.objects.get(username="newbie").hospital_id == hospital.pk


def test_hospital_admin_created_staff_default_to_its_hospital(hospital_admin_client, hospital):
    response = hospital_admin_client.post(URL, new_user(role="ambulance_driver"), format="json")
    assert response.status_code == 201, response.content
    assert response.json()["hospital_id"] == hospital.pk
    assert User.objects.get(username="newbie").hospital_id == hospital.pk


def test_hospital_admin_creating_staff_of_another_hospital_is_403(hospital_admin_client, other_hospital):
    response = hospital_admin_client.post(
        URL, new_user(role="ambulance_driver", hospital_id=other_hospital.pk), format="json"
    )
    assert_error(response, 403)
    assert not User.objects.filter(username="newbie").exists()


def test_hospital_admin_creating_doctor_is_400(hospital_admin_client, hospital):
    response = hospital_admin_client.post(URL, new_user(role="doctor", hospital_id=hospital.pk), format="json")
    assert_error(response, 400, attr="role")
    assert not User.objects.filter(username="newbie").exists()


@pytest.mark.parametrize("role", ["user", "donor", "admin"])
def test_hospital_admin_creating_non_staff_is_403(hospital_admin_client, role):
    assert_error(hospital_admin_client.post(URL, new_user(role=role), format="json"), 403)
    assert not User.objects.filter(username="newbie").exists()


def test_hospital_admin_updates_own_staff(hospital_admin_client, driver_user):
    response = hospital_admin_client.patch(f"{URL}/{driver_user.pk}", {"fullname": "Driver Renamed"}, format="json")
    assert response.status_code == 200, response.content
    driver_user.refresh_from_db()
    assert driver_user.fullname == "Driver Renamed"


def test_hospital_admin_cannot_move_staff_to_another_hospital(
    hospital_admin_client, driver_user, hospital, other_hospital
):
    response = hospital_admin_client.patch(f"{URL}/{driver_user.pk}", {"hospital_id": other_hospital.pk}, format="json")
    assert_error(response, 403)
    driver_user.refresh_from_db()
    assert driver_user.hospital_id == hospital.pk


@pytest.mark.parametrize("role", ["admin", "user"])
def test_hospital_admin_cannot_promote_or_demote_staff_out_of_staff(hospital_admin_client, driver_user, role):
    body = {"role": role, "hospital_id": None}
    response = hospital_admin_client.patch(f"{URL}/{driver_user.pk}", body, format="json")
    assert response.status_code in (400, 403), response.content
    driver_user.refresh_from_db()
    assert driver_user.role == "ambulance_driver" and not driver_user.is_superuser


def test_hospital_admin_deactivates_own_staff(hospital_admin_client, driver_user):
    assert hospital_admin_client.delete(f"{URL}/{driver_user.pk}").status_code == 204
    driver_user.refresh_from_db()
    assert driver_user.is_active is False


# --- trailing slash -------------------------------------------------------------------------


def test_paths_work_with_and_without_trailing_slash(admin_client, patient):
    for path in (URL, f"{URL}/"):
        assert admin_client.get(path).status_code == 200, path
    for path in (f"{URL}/{patient.pk}", f"{URL}/{patient.pk}/"):
        assert admin_client.get(path).status_code == 200, path
    assert admin_client.post(f"{URL}/", new_user(), format="json").status_code == 201
    assert (
        admin_client.post(URL, new_user(username="second", email="second@example.org"), format="json").status_code
        == 201
    )


def test_put_of_a_doctor_with_its_unchanged_role_is_200(admin_client, hospital_admin_client, doctor_user):
    for client in (admin_client, hospital_admin_client):
        body = client.get(f"{URL}/{doctor_user.pk}").json() | {"fullname": "Dr. Renamed"}
        response = client.put(f"{URL}/{doctor_user.pk}", body, format="json")
        assert response.status_code == 200, response.content
    doctor_user.refresh_from_db()
    assert (doctor_user.role, doctor_user.fullname) == ("doctor", "Dr. Renamed")


def test_doctor_role_cannot_be_changed_here(admin_client, doctor_user):
    response = admin_client.patch(f"{URL}/{doctor_user.pk}", {"role": "ambulance_driver"}, format="json")
    assert_error(response, 400, attr="role")
    doctor_user.refresh_from_db()
    assert doctor_user.role == "doctor"
