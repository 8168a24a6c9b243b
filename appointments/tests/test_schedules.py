from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command

from accounts.models import Activity
from accounts.tests.factories import HospitalFactory
from accounts.tests.utils import assert_error
from appointments.models import OpdSchedule, Slot
from appointments.tests.factories import DoctorFactory, OpdScheduleFactory, SlotFactory
from conftest import client_for

pytestmark = pytest.mark.django_db

SCHEDULE = {
    "weekdays": [0, 2, 4],
    "start_time": "09:00",
    "end_time": "12:00",
    "slot_minutes": 30,
    "capacity_per_slot": 4,
}


def test_doctor_creates_own_schedule_without_naming_itself(doctor_client, doctor):
    response = doctor_client.post("/api/v1/opd-schedules", SCHEDULE, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["doctor_id"] == doctor.pk and body["hospital_id"] == doctor.hospital_id
    assert body["department"] == doctor.department and body["weekdays"] == [0, 2, 4]
    assert Activity.objects.filter(action="create", object_type="opd_schedule").exists()


def test_hospital_admin_creates_schedule_for_its_doctor(hospital_admin_client, doctor):
    response = hospital_admin_client.post("/api/v1/opd-schedules", {**SCHEDULE, "doctor_id": doctor.pk}, format="json")
    assert response.status_code == 201


def test_hospital_admin_cannot_schedule_other_hospitals_doctor(hospital_admin_client, other_doctor):
    response = hospital_admin_client.post(
        "/api/v1/opd-schedules", {**SCHEDULE, "doctor_id": other_doctor.pk}, format="json"
    )
    assert response.status_code == 403 and not OpdSchedule.objects.exists()


def test_doctor_cannot_schedule_a_colleague(doctor_client, doctor, hospital):
    colleague = DoctorFactory(hospital=hospital)
    response = doctor_client.post("/api/v1/opd-schedules", {**SCHEDULE, "doctor_id": colleague.pk}, format="json")
    assert response.status_code == 403 and not OpdSchedule.objects.exists()


@pytest.mark.parametrize("client_name", ["patient_client", "driver_client"])
def test_patients_and_drivers_cannot_write_schedules(request, client_name, doctor):
    client = request.getfixturevalue(client_name)
    assert client.post("/api/v1/opd-schedules", {**SCHEDULE, "doctor_id": doctor.pk}).status_code == 403


@pytest.mark.parametrize(
    "change,attr",
    [
        ({"end_time": "08:00"}, "end_time"),
        ({"weekdays": [7]}, "weekdays.0"),
        ({"weekdays": []}, "weekdays"),
        ({"slot_minutes": 2}, "slot_minutes"),
        ({"slot_minutes": 240}, "slot_minutes"),
        ({"capacity_per_slot": 0}, "capacity_per_slot"),
        ({"valid_from": "2027-01-10", "valid_until": "2027-01-01"}, "valid_until"),
        ({"hospital_id": 999999}, "hospital_id"),
        ({"doctor_id": 999999}, "doctor_id"),
    ],
)
def test_invalid_schedule_is_400_naming_field(admin_client, doctor, change, attr):
    response = admin_client.post("/api/v1/opd-schedules", {**SCHEDULE, "doctor_id": doctor.pk, **change}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["attr"] == attr


def test_schedules_are_public_and_deactivated_not_deleted(api, admin_client, doctor):
    schedule = OpdScheduleFactory(doctor=doctor)
    assert api.get("/api/v1/opd-schedules").json()["count"] == 1
    assert admin_client.delete(f"/api/v1/opd-schedules/{schedule.pk}").status_code == 405
    response = admin_client.patch(f"/api/v1/opd-schedules/{schedule.pk}", {"is_active": False}, format="json")
    assert response.status_code == 200 and response.json()["is_active"] is False


def test_partial_update_checks_against_stored_times(doctor_client, doctor):
    schedule = OpdScheduleFactory(doctor=doctor)
    response = doctor_client.patch(f"/api/v1/opd-schedules/{schedule.pk}", {"end_time": "08:30"}, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["attr"] == "end_time"


def test_other_hospital_admin_cannot_edit_schedule(hospital_admin_client, other_doctor):
    schedule = OpdScheduleFactory(doctor=other_doctor)
    response = hospital_admin_client.patch(f"/api/v1/opd-schedules/{schedule.pk}", {"is_active": False})
    assert response.status_code == 403
    schedule.refresh_from_db()
    assert schedule.is_active


# --- generate-slots ----------------------------------------------------------------------------


def _generate(client, schedule, from_date, to_date):
    return client.post(
        f"/api/v1/opd-schedules/{schedule.pk}/generate-slots",
        {"from_date": str(from_date), "to_date": str(to_date)},
        format="json",
    )


def test_generate_slots_creates_each_weekday_and_is_idempotent(doctor_client, doctor):
    schedule = OpdScheduleFactory(doctor=doctor, weekdays=[0, 1, 2, 3, 4, 5, 6], slot_minutes=30)
    start = date.today() + timedelta(days=2)
    first = _generate(doctor_client, schedule, start, start + timedelta(days=6))
    assert first.status_code == 200, first.content
    assert first.json() == {"created": 7 * 6, "skipped": 0}
    assert Slot.objects.filter(opd_schedule=schedule, capacity=3, status="open").count() == 42
    again = _generate(doctor_client, schedule, start, start + timedelta(days=6))
    assert again.json() == {"created": 0, "skipped": 42}
    assert Slot.objects.count() == 42


def test_generate_slots_only_on_schedule_weekdays(admin_client, doctor):
    schedule = OpdScheduleFactory(doctor=doctor, weekdays=[0], slot_minutes=60)  # Mondays, 3 slots
    start = date.today() + timedelta(days=1)
    response = _generate(admin_client, schedule, start, start + timedelta(days=13))
    assert response.json()["created"] == 2 * 3
    assert {slot.local_date.weekday() for slot in Slot.objects.all()} == {0}


def test_generate_slots_skips_existing_slot_of_the_doctor(admin_client, doctor, hospital):
    schedule = OpdScheduleFactory(doctor=doctor, slot_minutes=60)
    day = date.today() + timedelta(days=3)
    from zoneinfo import ZoneInfo

    nine = datetime(day.year, day.month, day.day, 9, tzinfo=ZoneInfo(hospital.timezone))
    SlotFactory(doctor=doctor, start=nine, end=nine + timedelta(hours=1))
    response = _generate(admin_client, schedule, day, day)
    assert response.json() == {"created": 2, "skipped": 1}


def test_generate_slots_respects_validity_window(admin_client, doctor):
    start = date.today() + timedelta(days=5)
    schedule = OpdScheduleFactory(doctor=doctor, slot_minutes=60, valid_from=start, valid_until=start)
    response = _generate(admin_client, schedule, date.today() + timedelta(days=1), start + timedelta(days=10))
    assert response.json() == {"created": 3, "skipped": 0}


def test_generate_slots_skips_times_already_past(hospital):
    schedule = OpdScheduleFactory(doctor=DoctorFactory(hospital=hospital), slot_minutes=60, valid_from=date(2027, 1, 1))
    # 10:30 in Kolkata on 2027-06-07: the 09:00 and 10:00 slots have started, 11:00 has not.
    with time_machine.travel(datetime(2027, 6, 7, 5, 0, tzinfo=UTC), tick=False):
        from accounts.tests.factories import UserFactory

        client = client_for(UserFactory(role="admin", is_staff=True, is_superuser=True))
        response = _generate(client, schedule, date(2027, 6, 7), date(2027, 6, 7))
    assert response.json() == {"created": 1, "skipped": 2}
    assert Slot.objects.get().start == datetime(2027, 6, 7, 5, 30, tzinfo=UTC)


def test_generate_slots_more_than_90_days_is_400(admin_client, doctor):
    schedule = OpdScheduleFactory(doctor=doctor)
    start = date.today() + timedelta(days=1)
    response = _generate(admin_client, schedule, start, start + timedelta(days=91))
    assert response.status_code == 400 and response.json()["errors"][0]["attr"] == "to_date"
    assert not Slot.objects.exists()
    assert _generate(admin_client, schedule, start, start + timedelta(days=90)).status_code == 200


def test_generate_slots_to_before_from_is_400(admin_client, doctor):
    schedule = OpdScheduleFactory(doctor=doctor)
    response = _generate(admin_client, schedule, date.today() + timedelta(days=3), date.today())
    assert response.status_code == 400 and response.json()["errors"][0]["attr"] == "to_date"


def test_generate_slots_on_inactive_schedule_is_409(admin_client, doctor):
    schedule = OpdScheduleFactory(doctor=doctor, is_active=False)
    response = _generate(admin_client, schedule, date.today(), date.today() + timedelta(days=3))
    assert_error(response, 409, code="schedule_inactive")
    assert not Slot.objects.exists()


def test_generate_slots_forbidden_to_other_hospital_and_patients(hospital_admin_client, patient_client, other_doctor):
    schedule = OpdScheduleFactory(doctor=other_doctor)
    start = date.today() + timedelta(days=1)
    assert _generate(hospital_admin_client, schedule, start, start).status_code == 403
    assert _generate(patient_client, schedule, start, start).status_code == 403
    assert not Slot.objects.exists()


def test_generated_slots_follow_local_time_across_dst_change():
    """09:00-12:00 in London stays 09:00-12:00 local when the clocks go forward on 2027-03-28."""
    london = HospitalFactory(timezone="Europe/London")
    doctor = DoctorFactory(hospital=london)
    schedule = OpdScheduleFactory(doctor=doctor, slot_minutes=60, valid_from=date(2027, 3, 1))
    with time_machine.travel(datetime(2027, 3, 1, tzinfo=UTC), tick=False):
        client = client_for(doctor.user)
        response = _generate(client, schedule, date(2027, 3, 26), date(2027, 3, 29))
        assert response.json() == {"created": 12, "skipped": 0}
        listing = client.get(f"/api/v1/slots?doctor_id={doctor.pk}&page_size=50").json()["results"]
    starts = {slot["date"]: [] for slot in listing}
    for slot in listing:
        starts[slot["date"]].append(slot["start"])
    assert starts["2027-03-27"] == [
        "2027-03-27T09:00:00+00:00",
        "2027-03-27T10:00:00+00:00",
        "2027-03-27T11:00:00+00:00",
    ]
    assert starts["2027-03-28"] == [
        "2027-03-28T09:00:00+01:00",
        "2027-03-28T10:00:00+01:00",
        "2027-03-28T11:00:00+01:00",
    ]
    # Stored in UTC: the same local hour is one hour earlier in UTC after the change.
    utc_hours = sorted({s.start.astimezone(UTC).hour for s in Slot.objects.filter(local_date=date(2027, 3, 29))})
    assert utc_hours == [8, 9, 10]
    assert listing[-1]["end"] == "2027-03-29T12:00:00+01:00"


def test_spring_forward_gap_times_are_not_created():
    london = HospitalFactory(timezone="Europe/London")
    schedule = OpdScheduleFactory(
        doctor=DoctorFactory(hospital=london),
        start_time="00:00",
        end_time="03:00",
        slot_minutes=30,
        valid_from=date(2027, 3, 1),
    )
    with time_machine.travel(datetime(2027, 3, 1, tzinfo=UTC), tick=False):
        client = client_for(schedule.doctor.user)
        response = _generate(client, schedule, date(2027, 3, 28), date(2027, 3, 28))
    # 01:00 and 01:30 do not exist that night.
    assert response.json()["created"] == 4
    assert Slot.objects.count() == 4


def test_generate_slots_command_covers_every_active_schedule(doctor):
    OpdScheduleFactory(doctor=doctor, slot_minutes=60)
    OpdScheduleFactory(doctor=DoctorFactory(), slot_minutes=60)
    OpdScheduleFactory(doctor=DoctorFactory(), slot_minutes=60, is_active=False)
    out = StringIO()
    call_command("generate_slots", "--days", "3", stdout=out)
    assert "2 schedules" in out.getvalue()
    created = Slot.objects.count()
    assert 2 * 2 * 3 <= created <= 2 * 3 * 3  # today's slots may have passed already
    call_command("generate_slots", "--days", "3", stdout=StringIO())
    assert Slot.objects.count() == created


def test_generate_slots_command_rejects_too_many_days():
    with pytest.raises(CommandError):
        call_command("generate_slots", "--days", "91", stdout=StringIO())


def test_schedule_list_query_budget(api, django_assert_max_num_queries, hospital):
    for _ in range(20):
        OpdScheduleFactory(doctor=DoctorFactory(hospital=hospital))
    with django_assert_max_num_queries(3):
        response = api.get("/api/v1/opd-schedules?page_size=20")
    assert len(response.json()["results"]) == 20


@pytest.mark.parametrize(
    "from_date,to_date,attr",
    [("9999-12-25", "9999-12-31", "to_date"), ("0001-01-01", "0001-02-01", "from_date")],
)
def test_generate_slots_extreme_dates_are_400(admin_client, doctor, from_date, to_date, attr):
    schedule = OpdScheduleFactory(doctor=doctor)
    response = _generate(admin_client, schedule, from_date, to_date)
    assert response.status_code == 400 and response.json()["errors"][0]["attr"] == attr


@pytest.mark.parametrize("start_time", ["09", "0900", "09:00+05:30", "09:00:00Z", "9:00", "09:00\n", 900, "24:00"])
def test_schedule_rejects_time_that_is_not_wall_clock_hh_mm_with_400(doctor_client, doctor, start_time):
    response = doctor_client.post("/api/v1/opd-schedules", {**SCHEDULE, "start_time": start_time}, format="json")
    assert response.status_code == 400
    assert [error["attr"] for error in response.json()["errors"]] == ["start_time"]
    assert not OpdSchedule.objects.exists()


@pytest.mark.parametrize("start_time", ["09:00", "09:00:00", "09:00:00.5"])
def test_schedule_takes_wall_clock_times_and_answers_as_documented(doctor_client, doctor, start_time):
    from hms.tests.openapi import assert_response_documented, openapi

    response = doctor_client.post("/api/v1/opd-schedules", {**SCHEDULE, "start_time": start_time}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["start_time"].startswith("09:00:00")
    document = openapi()
    assert_response_documented(document, "/api/v1/opd-schedules/", "post", response)
    detail = doctor_client.get(f"/api/v1/opd-schedules/{response.json()['id']}/")
    assert_response_documented(document, "/api/v1/opd-schedules/{id}/", "get", detail)


@pytest.mark.parametrize("valid_from", ["20300101", "2030-W01-1", "2030-001"])
def test_schedule_rejects_date_not_written_yyyy_mm_dd_with_400(doctor_client, doctor, valid_from):
    response = doctor_client.post("/api/v1/opd-schedules", {**SCHEDULE, "valid_from": valid_from}, format="json")
    assert response.status_code == 400
    assert [error["attr"] for error in response.json()["errors"]] == ["valid_from"]
    assert not OpdSchedule.objects.exists()
