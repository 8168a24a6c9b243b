from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from accounts.models import Activity
from accounts.tests.factories import HospitalFactory
from accounts.tests.utils import assert_error
from appointments.models import Slot
from appointments.tests.factories import AppointmentFactory, DoctorFactory, SlotFactory

pytestmark = pytest.mark.django_db


def _future(days=2, hour=10):
    return (timezone.now() + timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0)


def test_slot_fields_and_local_offset(api, hospital, doctor):
    start = datetime(2031, 1, 6, 4, 0, tzinfo=UTC)  # 09:30 in Kolkata
    slot = SlotFactory(doctor=doctor, start=start, end=start + timedelta(minutes=15), capacity=4)
    body = api.get(f"/api/v1/slots/{slot.pk}").json()
    assert body["start"] == "2031-01-06T09:30:00+05:30" and body["end"] == "2031-01-06T09:45:00+05:30"
    assert body["date"] == "2031-01-06"
    assert body["hospital_id"] == hospital.pk and body["doctor_id"] == doctor.pk
    assert body["capacity"] == 4 and body["booked"] == 0 and body["available"] == 4
    assert body["status"] == "open" and body["is_bookable"] is True
    assert body["doctor"]["fullname"] == doctor.user.fullname


def test_slot_list_filters(api, hospital, other_hospital, doctor):
    cardio = DoctorFactory(hospital=other_hospital, specialization="Cardiology", department="Heart")
    mine = SlotFactory(doctor=doctor, start=_future(2))
    theirs = SlotFactory(doctor=cardio, start=_future(3))

    def ids(query):
        response = api.get(f"/api/v1/slots?{query}")
        assert response.status_code == 200, response.content
        return [s["id"] for s in response.json()["results"]]

    assert ids(f"hospital_id={hospital.pk}") == [mine.pk]
    assert ids(f"doctor_id={cardio.pk}") == [theirs.pk]
    assert ids("specialization=CARDIOLOGY") == [theirs.pk]
    assert ids("department=heart") == [theirs.pk]
    assert ids(f"date={theirs.local_date}") == [theirs.pk]
    assert ids(f"from={theirs.local_date}") == [theirs.pk]
    assert ids(f"to={mine.local_date}") == [mine.pk]
    assert ids(f"from={(mine.start + timedelta(minutes=1)).isoformat().replace('+00:00', 'Z')}") == [theirs.pk]
    assert ids(f"to={mine.start.isoformat().replace('+00:00', 'Z')}") == [mine.pk]


def test_date_filter_is_the_hospital_local_date(api):
    tokyo = HospitalFactory(timezone="Asia/Tokyo")
    start = datetime(2031, 5, 1, 16, 0, tzinfo=UTC)  # 2031-05-02 01:00 in Tokyo
    slot = SlotFactory(doctor=DoctorFactory(hospital=tokyo), start=start)
    assert [s["id"] for s in api.get("/api/v1/slots?date=2031-05-02").json()["results"]] == [slot.pk]
    assert api.get("/api/v1/slots?date=2031-05-01").json()["count"] == 0


@pytest.mark.parametrize("query", ["date=tomorrow", "from=yesterday", "hospital_id=-1", "doctor_id=1e99", "status=x"])
def test_bad_filter_values_are_400(api, query):
    response = api.get(f"/api/v1/slots?{query}")
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == query.split("=")[0]


def test_available_filter(api, doctor, hospital):
    bookable = SlotFactory(doctor=doctor, capacity=2)
    full = SlotFactory(doctor=doctor, capacity=1)
    AppointmentFactory(slot=full)
    SlotFactory(doctor=doctor, status="closed")
    SlotFactory(doctor=doctor, status="cancelled")
    past = timezone.now() - timedelta(hours=2)
    SlotFactory(doctor=doctor, start=past, end=past + timedelta(minutes=15))
    unavailable = SlotFactory(doctor=DoctorFactory(hospital=hospital, is_available=False))
    closed_opd = HospitalFactory(opd_status="closed")
    SlotFactory(doctor=DoctorFactory(hospital=closed_opd))
    limited_opd = HospitalFactory(opd_status="limited")
    limited = SlotFactory(doctor=DoctorFactory(hospital=limited_opd))

    available = {s["id"] for s in api.get("/api/v1/slots?available=true&page_size=50").json()["results"]}
    assert available == {bookable.pk, limited.pk}
    unavailable_ids = {s["id"] for s in api.get("/api/v1/slots?available=false&page_size=50").json()["results"]}
    assert bookable.pk not in unavailable_ids and unavailable.pk in unavailable_ids and full.pk in unavailable_ids
    seed = {s["id"] for s in api.get("/appointment/available-slots").json()["results"]}
    assert seed == available
    assert {
        s["id"] for s in api.get(f"/appointment/available-slots/?hospital_id={limited_opd.pk}").json()["results"]
    } == {limited.pk}


def test_slots_of_inactive_hospital_are_hidden(api, doctor, hospital):
    slot = SlotFactory(doctor=doctor)
    hospital.is_active = False
    hospital.save()
    assert api.get("/api/v1/slots").json()["count"] == 0
    assert api.get(f"/api/v1/slots/{slot.pk}").status_code == 404


# --- create ------------------------------------------------------------------------------------


def test_doctor_creates_own_slot(doctor_client, doctor, hospital):
    start = _future()
    body = {"start": start.isoformat(), "end": (start + timedelta(minutes=20)).isoformat(), "capacity": 3}
    response = doctor_client.post("/api/v1/slots", body, format="json")
    assert response.status_code == 201, response.content
    slot = Slot.objects.get()
    assert slot.doctor_id == doctor.pk and slot.hospital_id == hospital.pk and slot.capacity == 3
    assert slot.start == start and slot.local_date == start.astimezone(ZoneInfo("Asia/Kolkata")).date()
    assert Activity.objects.filter(action="create", object_type="slot", object_id=str(slot.pk)).exists()


def test_naive_slot_time_is_hospital_local(hospital_admin_client, doctor):
    day = (timezone.now() + timedelta(days=3)).date()
    body = {"doctor_id": doctor.pk, "start": f"{day}T10:00:00", "end": f"{day}T10:15:00"}
    response = hospital_admin_client.post("/api/v1/slots", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["start"] == f"{day}T10:00:00+05:30"
    assert Slot.objects.get().start == datetime(day.year, day.month, day.day, 4, 30, tzinfo=UTC)


def test_slot_in_the_past_is_400(admin_client, doctor):
    start = timezone.now() - timedelta(hours=1)
    body = {"doctor_id": doctor.pk, "start": start.isoformat(), "end": (start + timedelta(minutes=30)).isoformat()}
    response = admin_client.post("/api/v1/slots", body, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["attr"] == "start"
    assert not Slot.objects.exists()


def test_slot_end_before_start_is_400(admin_client, doctor):
    start = _future()
    body = {"doctor_id": doctor.pk, "start": start.isoformat(), "end": start.isoformat()}
    response = admin_client.post("/api/v1/slots", body, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["attr"] == "end"


def test_duplicate_slot_start_for_doctor_is_409(admin_client, doctor):
    existing = SlotFactory(doctor=doctor)
    body = {"doctor_id": doctor.pk, "start": existing.start.isoformat(), "end": existing.end.isoformat()}
    assert_error(admin_client.post("/api/v1/slots", body, format="json"), 409, code="duplicate_slot")
    assert Slot.objects.count() == 1


@pytest.mark.parametrize("capacity", [0, 501, "many"])
def test_slot_capacity_out_of_range_is_400(admin_client, doctor, capacity):
    start = _future()
    body = {"doctor_id": doctor.pk, "start": start.isoformat(), "end": (start + timedelta(minutes=9)).isoformat()}
    response = admin_client.post("/api/v1/slots", {**body, "capacity": capacity}, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["attr"] == "capacity"


def test_slot_hospital_id_must_be_the_doctors(admin_client, doctor, other_hospital):
    start = _future()
    body = {"doctor_id": doctor.pk, "hospital_id": other_hospital.pk, "start": start.isoformat(),
            "end": (start + timedelta(minutes=9)).isoformat()}  # fmt: skip
    response = admin_client.post("/api/v1/slots", body, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["attr"] == "hospital_id"


@pytest.mark.parametrize(
    "client_name,status",
    [("hospital_admin_client", 403), ("doctor_client", 403), ("driver_client", 403), ("patient_client", 403)],
)
def test_slot_create_forbidden_outside_own_hospital_or_role(request, client_name, status, other_doctor, doctor):
    start = _future()
    body = {"doctor_id": other_doctor.pk, "start": start.isoformat(), "end": (start + timedelta(minutes=9)).isoformat()}
    response = request.getfixturevalue(client_name).post("/api/v1/slots", body, format="json")
    assert response.status_code == status
    assert not Slot.objects.exists()


def test_driver_cannot_create_slot_even_in_own_hospital(driver_client, doctor):
    start = _future()
    body = {"doctor_id": doctor.pk, "start": start.isoformat(), "end": (start + timedelta(minutes=9)).isoformat()}
    assert driver_client.post("/api/v1/slots", body, format="json").status_code == 403


# --- PATCH -------------------------------------------------------------------------------------


def test_staff_raises_and_lowers_capacity(hospital_admin_client, slot):
    AppointmentFactory.create_batch(2, slot=slot)
    response = hospital_admin_client.patch(f"/api/v1/slots/{slot.pk}", {"capacity": 2}, format="json")
    assert response.status_code == 200 and response.json()["capacity"] == 2 and response.json()["available"] == 0
    assert Activity.objects.filter(action="update", object_type="slot").exists()


def test_capacity_below_booked_is_409(doctor_client, slot):
    AppointmentFactory.create_batch(3, slot=slot)
    response = doctor_client.patch(f"/api/v1/slots/{slot.pk}", {"capacity": 2}, format="json")
    assert_error(response, 409, code="capacity_below_booked")
    slot.refresh_from_db()
    assert slot.capacity == 5


def test_slot_with_active_bookings_can_close_but_not_cancel(admin_client, slot):
    AppointmentFactory(slot=slot)
    response = admin_client.patch(f"/api/v1/slots/{slot.pk}", {"status": "cancelled"}, format="json")
    assert_error(response, 409, code="slot_has_bookings")
    slot.refresh_from_db()
    assert slot.status == "open"
    response = admin_client.patch(f"/api/v1/slots/{slot.pk}", {"status": "closed"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "closed"


def test_slot_without_active_bookings_can_be_cancelled(admin_client, slot):
    AppointmentFactory(slot=slot, status="cancelled")
    response = admin_client.patch(f"/api/v1/slots/{slot.pk}", {"status": "cancelled"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"


def test_slot_patch_bad_status_is_400(admin_client, slot):
    response = admin_client.patch(f"/api/v1/slots/{slot.pk}", {"status": "deleted"}, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["attr"] == "status"


@pytest.mark.parametrize("client_name", ["hospital_admin_client", "patient_client", "driver_client"])
def test_slot_patch_forbidden_to_others(request, client_name, other_doctor):
    slot = SlotFactory(doctor=other_doctor)
    response = request.getfixturevalue(client_name).patch(f"/api/v1/slots/{slot.pk}", {"capacity": 1}, format="json")
    assert response.status_code == 403
    slot.refresh_from_db()
    assert slot.capacity == 5


def test_slot_delete_and_put_are_405(admin_client, slot):
    assert admin_client.delete(f"/api/v1/slots/{slot.pk}").status_code == 405
    assert admin_client.put(f"/api/v1/slots/{slot.pk}", {"capacity": 1}, format="json").status_code == 405
    assert Slot.objects.filter(pk=slot.pk).exists()


def test_slot_list_query_budget(api, django_assert_max_num_queries, hospital):
    for _ in range(5):
        doctor = DoctorFactory(hospital=hospital)
        SlotFactory.create_batch(6, doctor=doctor)
    with django_assert_max_num_queries(2):
        response = api.get("/api/v1/slots?page_size=30")
    assert len(response.json()["results"]) == 30
    with django_assert_max_num_queries(2):
        response = api.get("/appointment/available-slots?page_size=30")
    assert len(response.json()["results"]) == 30


@pytest.mark.parametrize(
    "start,end,attr",
    [
        ("9999-12-31T23:00:00Z", "9999-12-31T23:30:00Z", "start"),
        ("2099-01-01T09:00:00", "2099-01-01T09:30:00", "start"),
        (None, "2099-01-01T09:30:00Z", "end"),
    ],
)
def test_slot_dates_out_of_range_are_400_not_500(admin_client, doctor, start, end, attr):
    start = start or _future().isoformat()
    response = admin_client.post("/api/v1/slots", {"doctor_id": doctor.pk, "start": start, "end": end}, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["attr"] == attr


@pytest.mark.parametrize("value", ["11/25/2026", "20261125", " 2026-11-25", "2026-11-25T00:00:00Z"])
def test_slot_date_filter_rejects_anything_but_yyyy_mm_dd_with_400(api, value):
    response = api.get("/api/v1/slots/", {"date": value})
    assert response.status_code == 400
    assert [error["attr"] for error in response.json()["errors"]] == ["date"]


def test_slot_date_filter_takes_yyyy_mm_dd(api):
    assert api.get("/api/v1/slots/", {"date": "2026-11-25"}).status_code == 200


@pytest.mark.parametrize("start", ["{day}", "{day} 10:00:00", "{day}T10:00"])
def test_slot_start_that_is_not_rfc3339_with_optional_offset_is_400(hospital_admin_client, doctor, start):
    day = (timezone.now() + timedelta(days=3)).date()
    body = {"doctor_id": doctor.pk, "start": start.format(day=day), "end": f"{day}T10:15:00"}
    response = hospital_admin_client.post("/api/v1/slots", body, format="json")
    assert response.status_code == 400
    assert [error["attr"] for error in response.json()["errors"]] == ["start"]
    assert not Slot.objects.exists()


def test_slot_times_are_documented_with_an_optional_offset():
    import re

    from hms.tests.openapi import openapi

    start = openapi()["components"]["schemas"]["SlotCreateInRequest"]["properties"]["start"]
    assert "format" not in start
    assert re.fullmatch(start["pattern"], "2030-01-01T10:00:00")
    assert re.fullmatch(start["pattern"], "2030-01-01T10:00:00+05:30")
