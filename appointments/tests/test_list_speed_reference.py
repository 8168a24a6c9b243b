"""The appointment and doctor lists, read as `.values()` rows and written by hand (hms.api.kept_lists,
appointment_list_row, doctor_list_row), answer exactly what the ORM and the serializers answer: the same
rows, counts, links and bytes, over random data (hospitals in several time zones, patients, doctors,
statuses, reasons, fees), for every role, with filters, orderings and pages; their compiled shapes are
per caller and never keep rows; and they stay within their query budgets."""

import json
import random
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from accounts.tests.factories import HospitalFactory, UserFactory
from appointments.models import Appointment, Doctor
from appointments.serializers import AppointmentOut, DoctorOut
from appointments.tests.factories import AppointmentFactory, DoctorFactory, SlotFactory
from conftest import client_for

pytestmark = pytest.mark.django_db

ZONES = ["Asia/Kolkata", "America/New_York", "Australia/Adelaide", "Europe/London", "UTC", "Asia/Kathmandu"]
STATUSES = [choice for choice, _label in Appointment.Status.choices]
WORDS = ["fever", "follow-up", "Ünïcode ✓", "", "=cmd", "x" * 60, 'quote "this"']


def _reference(serializer_class, queryset) -> list:
    """The serializer's answer for the rows, as the JSON body carries it."""
    return json.loads(JSONRenderer().render(serializer_class(queryset, many=True).data))


def _expected_page(rows: list, *, page: int, size: int) -> dict:
    return {"count": len(rows), "results": rows[(page - 1) * size : page * size]}


def _page(client, path: str) -> dict:
    response = client.get(path)
    assert response.status_code == 200, response.content
    body = response.json()
    return {"count": body["count"], "results": body["results"]}


@pytest.fixture
def world():
    """Random appointments over hospitals in several time zones (one inactive doctor account among them)."""
    rng = random.Random(21)
    hospitals = [HospitalFactory(timezone=zone) for zone in ZONES]
    doctors = [
        DoctorFactory(
            hospital=rng.choice(hospitals),
            specialization=rng.choice(["Cardiology", "ENT", "General Medicine"]),
            department=rng.choice(["", "OPD", "Heart & Lungs"]),
        )
        for _ in range(8)
    ]
    patients = [UserFactory(role="user", phone_num=rng.choice(["", "+91 98765 43210"])) for _ in range(5)]
    base = timezone.now().replace(microsecond=0)
    for index in range(70):
        doctor = rng.choice(doctors)
        start = base + timedelta(days=rng.randint(-20, 40), minutes=15 * rng.randint(0, 40), seconds=index)
        slot = SlotFactory(doctor=doctor, start=start, end=start + timedelta(minutes=rng.choice([10, 15, 30])))
        AppointmentFactory(
            slot=slot,
            patient=rng.choice(patients),
            status=rng.choice(STATUSES),
            reason=rng.choice(WORDS),
            cancel_reason=rng.choice(WORDS),
        )
    return {"hospitals": hospitals, "doctors": doctors, "patients": patients}


def _appointments(**filters):
    return Appointment.objects.filter(**filters).select_related("patient", "doctor__user", "hospital", "slot")


def test_patient_lists_equal_the_serializers_answer_page_by_page(world):
    for patient in world["patients"]:
        client = client_for(patient)
        expected = _reference(AppointmentOut, _appointments(patient=patient).order_by("-id"))
        assert len(expected) >= 5
        assert _page(client, "/api/v1/appointments") == _expected_page(expected, page=1, size=20)
        for size in (3, len(expected), 100):
            for page in range(1, -(-len(expected) // size) + 1):
                path = f"/api/v1/appointments?page_size={size}" + (f"&page={page}" if page > 1 else "")
                assert _page(client, path) == _expected_page(expected, page=page, size=size), path
        assert client.get("/appointment/my-appointments").json()["results"] == expected[:20]


def test_moments_follow_the_current_time_zone_as_the_serializer_does(world):
    patient = world["patients"][2]
    with timezone.override("America/St_Johns"):
        expected = _reference(AppointmentOut, _appointments(patient=patient).order_by("-id"))
        body = client_for(patient).get("/api/v1/appointments?page_size=100").json()
    assert body["results"] == expected
    assert expected[0]["created_at"].endswith(("-02:30", "-03:30"))


def test_filtered_and_ordered_lists_equal_the_serializers_answer_for_every_role(world, admin_user):
    doctor = world["doctors"][0]
    hospital = world["hospitals"][0]
    staff = UserFactory(role="hospital_admin", hospital=hospital)
    callers = {
        admin_user: {},
        staff: {"hospital_id": hospital.pk},
        doctor.user: {"doctor__user_id": doctor.user_id},
        world["patients"][1]: {"patient_id": world["patients"][1].pk},
    }
    for caller, scope in callers.items():
        client = client_for(caller)
        visible = _appointments(**scope)
        for status in STATUSES:
            expected = _reference(AppointmentOut, visible.filter(status=status).order_by("-id"))
            assert _page(client, f"/api/v1/appointments?status={status}&page_size=100")["results"] == expected
        expected = _reference(AppointmentOut, visible.order_by("-token_number", "id"))
        assert _page(client, "/api/v1/appointments?ordering=-token_number,id&page_size=7") == _expected_page(
            expected, page=1, size=7
        )
        expected = _reference(AppointmentOut, visible.order_by("slot__start", "id"))
        assert _page(client, "/api/v1/appointments?ordering=start,id&page=2&page_size=4") == _expected_page(
            expected, page=2, size=4
        )


def test_links_and_refusals_are_the_paginators(world):
    patient = world["patients"][0]
    client = client_for(patient)
    count = Appointment.objects.filter(patient=patient).count()
    body = client.get("/api/v1/appointments?page_size=2&page=2").json()
    assert body["count"] == count
    assert body["next"] == "http://testserver/api/v1/appointments?page=3&page_size=2"
    assert body["previous"] == "http://testserver/api/v1/appointments?page_size=2"
    last = client.get(f"/api/v1/appointments?page_size=1&page={count}").json()
    assert last["next"] is None and last["count"] == count
    for page in (0, count + 1):
        response = client.get(f"/api/v1/appointments?page_size=1&page={page}")
        assert response.status_code == 404
        assert response.json()["errors"][0]["detail"] == "Invalid page."
    refused = client.get("/api/v1/appointments?page=x")
    assert refused.status_code == 400 and refused.json()["errors"][0]["attr"] == "page"
    refused = client.get("/api/v1/appointments?status=lost")
    assert refused.status_code == 400 and refused.json()["errors"][0]["attr"] == "status"


def test_a_kept_list_shows_each_caller_its_own_rows_and_every_new_booking(world):
    first, second = world["patients"][:2]
    for _ in range(2):  # the second time from the kept shapes
        for patient in (first, second):
            expected = _reference(AppointmentOut, _appointments(patient=patient).order_by("-id"))
            assert client_for(patient).get("/api/v1/appointments?page_size=100").json()["results"] == expected
    AppointmentFactory(slot=SlotFactory(doctor=world["doctors"][3]), patient=first, reason="new")
    body = client_for(first).get("/api/v1/appointments?page_size=100").json()
    assert body["results"][0]["reason"] == "new"
    assert body["count"] == Appointment.objects.filter(patient=first).count()


def test_a_patients_list_costs_a_statement_and_a_count_only_when_the_page_is_full(world, django_assert_max_num_queries):
    patient = world["patients"][0]
    client = client_for(patient)
    count = Appointment.objects.filter(patient=patient).count()
    client.get("/api/v1/appointments")
    with django_assert_max_num_queries(2):  # the caller, the page (it holds every row from its offset)
        assert client.get("/api/v1/appointments?page_size=100").json()["count"] == count
    with django_assert_max_num_queries(3):  # the caller, the page, its count
        assert client.get("/api/v1/appointments?page_size=1").json()["count"] == count


def test_an_empty_list_counts_zero(patient_client, api):
    empty = {"count": 0, "next": None, "previous": None, "results": []}
    assert patient_client.get("/api/v1/appointments").json() == empty
    assert api.get(f"/api/v1/doctors?hospital_id={HospitalFactory().pk}").json() == empty
    assert patient_client.get("/api/v1/appointments?page=2").status_code == 404


@pytest.fixture
def doctors_world():
    """Random doctors, some of them in an inactive hospital or with an inactive account."""
    rng = random.Random(2121)
    hospitals = [HospitalFactory(timezone=zone) for zone in ZONES[:3]]
    closed = HospitalFactory(is_active=False)
    for index in range(45):
        doctor = DoctorFactory(
            hospital=rng.choice([*hospitals, closed]),
            specialization=rng.choice(["Cardiology", "ENT", "Dermatology"]),
            department=rng.choice(["", "OPD", "Skin"]),
            qualification=rng.choice(["", "MBBS", "MD, DM"]),
            experience_years=rng.randint(0, 80),
            consultation_fee=Decimal(rng.randint(0, 10**8)) / 100,
            is_available=rng.random() < 0.7,
        )
        if index % 9 == 0:
            doctor.user.is_active = False
            doctor.user.save(update_fields=["is_active"])
    return {"hospitals": hospitals, "closed": closed}


def _doctors(**filters):
    return Doctor.objects.filter(**filters).select_related("user").order_by("id")


def test_doctor_lists_equal_the_serializers_answer(api, admin_client, doctors_world):
    active = {"hospital__is_active": True, "user__is_active": True}
    for hospital in [*doctors_world["hospitals"], doctors_world["closed"]]:
        expected = _reference(DoctorOut, _doctors(hospital=hospital, **active))
        for _ in range(2):  # the second time from the kept shape
            assert _page(api, f"/api/v1/doctors?hospital_id={hospital.pk}&page_size=100")["results"] == expected
        for page in (1, 2):
            path = f"/api/v1/doctors?hospital_id={hospital.pk}&page_size=4&page={page}"
            if len(expected) > (page - 1) * 4:
                assert _page(api, path) == _expected_page(expected, page=page, size=4)
        everything = _reference(DoctorOut, _doctors(hospital=hospital))
        assert _page(admin_client, f"/api/v1/doctors?hospital_id={hospital.pk}&page_size=100")["results"] == everything
    expected = _reference(DoctorOut, _doctors(**active))
    assert _page(api, "/api/v1/doctors") == _expected_page(expected, page=1, size=20)
    assert _page(api, "/api/v1/doctors?page=2") == _expected_page(expected, page=2, size=20)
    expected = _reference(DoctorOut, _doctors(specialization__iexact="ent", **active))
    assert _page(api, "/api/v1/doctors?specialization=ENT&page_size=100")["results"] == expected
    expected = _reference(DoctorOut, _doctors(**active).order_by("-experience_years", "id"))
    assert _page(api, "/api/v1/doctors?ordering=-experience_years,id&page_size=100")["results"] == expected


def test_doctor_list_refusals_are_unchanged(api, hospital):
    DoctorFactory(hospital=hospital)
    for value in ("0", "", "x", "99999999999999999999"):
        response = api.get(f"/api/v1/doctors?hospital_id={value}")
        assert response.status_code == 400 and response.json()["errors"][0]["attr"] == "hospital_id", value
    assert api.get(f"/api/v1/doctors?hospital_id={hospital.pk}&page=2").status_code == 404
    assert api.get(f"/api/v1/doctors?hospital_id={hospital.pk}").json()["count"] == 1


def test_one_hospitals_doctors_are_one_statement(patient_client, hospital, django_assert_max_num_queries):
    DoctorFactory.create_batch(12, hospital=hospital)
    patient_client.get(f"/api/v1/doctors?hospital_id={hospital.pk}")
    with django_assert_max_num_queries(2):  # the caller, the page (it holds every row: its own count)
        response = patient_client.get(f"/api/v1/doctors?hospital_id={hospital.pk}")
    assert response.json()["count"] == 12 and len(response.json()["results"]) == 12
