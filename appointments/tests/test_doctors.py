import pytest

from accounts.models import Activity, User
from accounts.tests.factories import UserFactory
from accounts.tests.utils import assert_error
from appointments.models import Doctor
from appointments.tests.factories import DoctorFactory

pytestmark = pytest.mark.django_db

ACCOUNT = {
    "username": "dr.kavya",
    "fullname": "Kavya Nair",
    "email": "kavya@example.org",
    "password": "Str0ng-Pass-2026",
    "phone_num": "+91 98000 00000",
}


def doctor_body(hospital, **extra):
    return {
        "user": dict(ACCOUNT),
        "hospital_id": hospital.pk,
        "specialization": "Cardiology",
        "department": "Cardiology",
        "qualification": "MBBS, DM",
        "license_number": "MCI-1234",
        "experience_years": 12,
        "consultation_fee": 800,
        **extra,
    }


def test_admin_creates_doctor_with_new_account(admin_client, hospital):
    response = admin_client.post("/api/v1/doctors", doctor_body(hospital), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["fullname"] == "Kavya Nair" and body["hospital_id"] == hospital.pk
    assert body["license_number"] == "MCI-1234" and body["consultation_fee"] == 800
    user = User.objects.get(username="dr.kavya")
    assert user.role == "doctor" and user.hospital_id == hospital.pk and user.check_password(ACCOUNT["password"])
    assert body["user_id"] == user.pk
    assert Activity.objects.filter(action="create", object_type="doctor", object_id=str(body["id"])).exists()


def test_new_doctor_can_sign_in(admin_client, api, hospital):
    admin_client.post("/api/v1/doctors", doctor_body(hospital), format="json")
    login = api.post("/auth/login", {"username": "dr.kavya", "password": ACCOUNT["password"]})
    assert login.status_code == 200 and login.json()["user"]["role"] == "doctor"


def test_hospital_admin_creates_doctor_for_own_hospital_by_default(hospital_admin_client, hospital):
    body = doctor_body(hospital)
    del body["hospital_id"]
    response = hospital_admin_client.post("/api/v1/doctors/", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["hospital_id"] == hospital.pk


def test_hospital_admin_cannot_create_doctor_for_other_hospital(hospital_admin_client, other_hospital):
    response = hospital_admin_client.post("/api/v1/doctors", doctor_body(other_hospital), format="json")
    assert response.status_code == 403
    assert not User.objects.filter(username="dr.kavya").exists() and not Doctor.objects.exists()


def test_admin_must_name_hospital(admin_client, hospital):
    body = doctor_body(hospital)
    del body["hospital_id"]
    response = admin_client.post("/api/v1/doctors", body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "hospital_id"


@pytest.mark.parametrize("client_name", ["doctor_client", "patient_client", "driver_client", "donor_client"])
def test_other_roles_cannot_create_doctors(request, client_name, hospital):
    response = request.getfixturevalue(client_name).post("/api/v1/doctors", doctor_body(hospital), format="json")
    assert response.status_code == 403
    assert not Doctor.objects.exists()


def test_anonymous_cannot_create_doctor(api, hospital):
    assert api.post("/api/v1/doctors", doctor_body(hospital), format="json").status_code == 401


def test_bad_nested_account_is_400_with_dotted_attr_and_creates_nothing(admin_client, hospital):
    body = doctor_body(hospital, user={**ACCOUNT, "email": "not-an-email"})
    response = admin_client.post("/api/v1/doctors", body, format="json")
    assert response.status_code == 400
    assert [e["attr"] for e in response.json()["errors"]] == ["user.email"]
    assert not User.objects.filter(username="dr.kavya").exists() and not Doctor.objects.exists()


def test_weak_password_for_new_doctor_is_400(admin_client, hospital):
    body = doctor_body(hospital, user={**ACCOUNT, "password": "12345678"})
    response = admin_client.post("/api/v1/doctors", body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "user.password"


def test_duplicate_username_is_409(admin_client, hospital):
    UserFactory(username="DR.KAVYA")
    response = admin_client.post("/api/v1/doctors", doctor_body(hospital), format="json")
    assert_error(response, 409, code="unique")
    assert not Doctor.objects.exists()


def test_duplicate_license_number_is_409(admin_client, hospital):
    DoctorFactory(hospital=hospital, license_number="MCI-1234")
    response = admin_client.post("/api/v1/doctors", doctor_body(hospital), format="json")
    assert_error(response, 409, code="unique")
    assert not User.objects.filter(username="dr.kavya").exists()


def test_user_and_user_id_are_mutually_exclusive(admin_client, hospital, patient):
    response = admin_client.post("/api/v1/doctors", doctor_body(hospital, user_id=patient.pk), format="json")
    assert response.status_code == 400
    body = doctor_body(hospital)
    del body["user"]
    response = admin_client.post("/api/v1/doctors", body, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["attr"] == "user"


def test_existing_patient_account_becomes_doctor_of_hospital(admin_client, hospital, patient):
    body = doctor_body(hospital, user_id=patient.pk)
    del body["user"]
    response = admin_client.post("/api/v1/doctors", body, format="json")
    assert response.status_code == 201, response.content
    patient.refresh_from_db()
    assert patient.role == "doctor" and patient.hospital_id == hospital.pk
    assert response.json()["user_id"] == patient.pk


def test_existing_doctor_account_without_profile_gets_one(hospital_admin_client, hospital, doctor_user):
    body = doctor_body(hospital, user_id=doctor_user.pk)
    del body["user"]
    assert hospital_admin_client.post("/api/v1/doctors", body, format="json").status_code == 201
    assert Doctor.objects.get().user_id == doctor_user.pk


def test_user_id_with_a_profile_already_is_409(admin_client, hospital, doctor_user):
    DoctorFactory(user=doctor_user, hospital=hospital)
    body = doctor_body(hospital, user_id=doctor_user.pk)
    del body["user"]
    assert_error(admin_client.post("/api/v1/doctors", body, format="json"), 409, code="already_doctor")
    assert Doctor.objects.filter(user=doctor_user).count() == 1


@pytest.mark.parametrize("role", ["admin", "hospital_admin", "ambulance_driver"])
def test_user_id_of_admin_or_driver_is_400(admin_client, hospital, role):
    user = UserFactory(role=role, hospital=None if role == "admin" else hospital)
    body = doctor_body(hospital, user_id=user.pk)
    del body["user"]
    response = admin_client.post("/api/v1/doctors", body, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["attr"] == "user_id"
    user.refresh_from_db()
    assert user.role == role


def test_unknown_user_id_is_400_naming_field(admin_client, hospital):
    body = doctor_body(hospital, user_id=999999)
    del body["user"]
    response = admin_client.post("/api/v1/doctors", body, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["attr"] == "user_id"


def test_unknown_hospital_is_400(admin_client, hospital):
    response = admin_client.post("/api/v1/doctors", doctor_body(hospital, hospital_id=999999), format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["attr"] == "hospital_id"


@pytest.mark.parametrize(
    "field,value",
    [("experience_years", 500), ("consultation_fee", -1), ("specialization", "x" * 101), ("license_number", "")],
)
def test_out_of_range_fields_are_400(admin_client, hospital, field, value):
    response = admin_client.post("/api/v1/doctors", doctor_body(hospital, **{field: value}), format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == field


def test_doctor_list_and_detail_are_public(api, hospital, other_hospital):
    DoctorFactory(hospital=hospital, specialization="Cardiology", department="Heart")
    DoctorFactory(hospital=other_hospital, specialization="Pediatrics", department="Children")
    listing = api.get("/api/v1/doctors")
    assert listing.status_code == 200 and listing.json()["count"] == 2
    doctor = listing.json()["results"][0]
    assert set(doctor) >= {
        "id", "user_id", "hospital_id", "fullname", "specialization", "department", "qualification",
        "license_number", "experience_years", "consultation_fee", "is_available",
    }  # fmt: skip
    assert api.get(f"/api/v1/doctors/{doctor['id']}/").status_code == 200


def test_doctor_filters_and_search(api, hospital, other_hospital):
    cardio = DoctorFactory(hospital=hospital, specialization="Cardiology", department="Heart")
    DoctorFactory(hospital=other_hospital, specialization="Pediatrics", department="Children")
    cardio.user.fullname = "Zubin Mehta"
    cardio.user.save()

    def ids(query):
        return [d["id"] for d in api.get(f"/api/v1/doctors?{query}").json()["results"]]

    assert ids(f"hospital_id={hospital.pk}") == [cardio.pk]
    assert ids("specialization=cardiology") == [cardio.pk]
    assert ids("department=Heart") == [cardio.pk]
    assert ids("search=zubin") == [cardio.pk]
    assert api.get("/api/v1/doctors?hospital_id=abc").status_code == 400


def test_doctors_of_inactive_hospital_are_hidden_from_public(api, hospital):
    DoctorFactory(hospital=hospital)
    hospital.is_active = False
    hospital.save()
    assert api.get("/api/v1/doctors").json()["count"] == 0


def test_hospital_admin_updates_own_doctor(hospital_admin_client, doctor):
    response = hospital_admin_client.patch(f"/api/v1/doctors/{doctor.pk}", {"is_available": False}, format="json")
    assert response.status_code == 200 and response.json()["is_available"] is False
    doctor.refresh_from_db()
    assert doctor.is_available is False
    assert Activity.objects.filter(action="update", object_type="doctor", object_id=str(doctor.pk)).exists()


def test_hospital_admin_cannot_update_other_hospitals_doctor(hospital_admin_client, other_doctor):
    response = hospital_admin_client.patch(f"/api/v1/doctors/{other_doctor.pk}", {"is_available": False})
    assert response.status_code == 403
    other_doctor.refresh_from_db()
    assert other_doctor.is_available is True


def test_doctor_cannot_edit_profiles(doctor_client, doctor):
    assert doctor_client.patch(f"/api/v1/doctors/{doctor.pk}", {"consultation_fee": 1}).status_code == 403


def test_doctor_delete_is_405(admin_client, doctor):
    assert admin_client.delete(f"/api/v1/doctors/{doctor.pk}").status_code == 405
    assert Doctor.objects.filter(pk=doctor.pk).exists()


def test_doctor_list_query_budget(api, django_assert_max_num_queries, hospital):
    DoctorFactory.create_batch(25, hospital=hospital)
    with django_assert_max_num_queries(3):
        response = api.get("/api/v1/doctors?page_size=25")
    assert len(response.json()["results"]) == 25


def test_hospital_admin_cannot_adopt_a_patient_account(hospital_admin_client, hospital, patient):
    body = doctor_body(hospital, user_id=patient.pk)
    del body["user"]
    assert hospital_admin_client.post("/api/v1/doctors", body, format="json").status_code == 403
    patient.refresh_from_db()
    assert patient.role == "user" and patient.hospital_id is None and not Doctor.objects.exists()


def test_doctor_account_of_another_hospital_is_400(admin_client, hospital, other_hospital):
    foreign = UserFactory(role="doctor", hospital=other_hospital)
    body = doctor_body(hospital, user_id=foreign.pk)
    del body["user"]
    response = admin_client.post("/api/v1/doctors", body, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["attr"] == "user_id"


@pytest.mark.parametrize("edge", ["\u001d", " ", "\n"])
def test_a_text_over_its_limit_is_refused_even_when_whitespace_pads_it(admin_client, hospital, edge):
    """The schema's maxLength counts the value as sent: one character over with whitespace at an edge
    (which DRF trims before counting) is refused, and nothing changes."""
    doctor = DoctorFactory(hospital=hospital, department="Heart")
    response = admin_client.patch(f"/api/v1/doctors/{doctor.pk}", {"department": edge + "x" * 100}, format="json")
    assert_error(response, 400, code="max_length", attr="department")
    doctor.refresh_from_db()
    assert doctor.department == "Heart"
    response = admin_client.patch(f"/api/v1/doctors/{doctor.pk}", {"department": edge + "x" * 99}, format="json")
    assert response.status_code == 200, response.content
    doctor.refresh_from_db()
    assert doctor.department == "x" * 99
