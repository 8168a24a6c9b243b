"""Reminders: REMINDER_HOURS before the start, once each, never for a cancelled appointment, in the
hospital's local time (across a daylight-saving change)."""

import datetime
from datetime import UTC, timedelta

import pytest

from accounts.tests.factories import HospitalFactory, UserFactory
from appointments.models import Appointment
from appointments.tests.factories import AppointmentFactory, DoctorFactory, SlotFactory
from conftest import run_together
from notifications.models import Notification
from notifications.sources import reminders

# New York moves its clocks from 02:00 EST to 03:00 EDT on Sunday 8 March 2026 (07:00 UTC).
BEFORE_DST = datetime.datetime(2026, 3, 7, 20, 0, tzinfo=UTC)  # Saturday 15:00 EST
START = datetime.datetime(2026, 3, 8, 15, 0, tzinfo=UTC)  # Sunday 11:00 EDT (10:00 at the old offset)


@pytest.fixture
def new_york_slot(db, time_machine):
    time_machine.move_to(BEFORE_DST, tick=False)
    hospital = HospitalFactory(timezone="America/New_York", name="Hudson General")
    doctor = DoctorFactory(hospital=hospital, user__fullname="Ada Lovelace")
    return SlotFactory(doctor=doctor, start=START, end=START + timedelta(minutes=15))


def test_reminders_24_and_2_hours_before_in_local_time_across_dst(new_york_slot, patient, time_machine):
    appointment = AppointmentFactory(slot=new_york_slot, patient=patient)
    assert reminders() == {"created": 1}  # 19 hours ahead: the 24-hour reminder
    assert reminders() == {"created": 0}
    first = Notification.objects.get()
    assert first.key == f"reminder:{appointment.pk}:24" and first.event == "appointment.reminder"
    assert "Sunday 8 March 2026, 11:00 EDT" in first.title
    assert "Dr Ada Lovelace at Hudson General" in first.body and "11:00 EDT" in first.body
    assert first.data["start"] == START.isoformat() and first.data["hours"] == 24

    time_machine.move_to(START - timedelta(hours=3), tick=False)
    assert reminders() == {"created": 0}
    time_machine.move_to(START - timedelta(hours=1, minutes=59), tick=False)
    assert reminders() == {"created": 1}
    second = Notification.objects.get(key=f"reminder:{appointment.pk}:2")
    assert "11:00 EDT" in second.body and second.user == patient
    time_machine.move_to(START + timedelta(minutes=1), tick=False)
    assert reminders() == {"created": 0}  # started: nothing more


def test_no_reminder_for_a_cancelled_or_finished_appointment(new_york_slot, patient):
    for status in (Appointment.Status.CANCELLED, Appointment.Status.NO_SHOW, Appointment.Status.CHECKED_IN):
        AppointmentFactory(slot=new_york_slot, patient=UserFactory(), status=status)
    assert reminders() == {"created": 0}
    assert not Notification.objects.exists()


def test_cancelled_after_the_first_reminder_gets_no_second(new_york_slot, patient, time_machine):
    appointment = AppointmentFactory(slot=new_york_slot, patient=patient)
    reminders()
    Appointment.objects.filter(pk=appointment.pk).update(status=Appointment.Status.CANCELLED)
    time_machine.move_to(START - timedelta(hours=1), tick=False)
    assert reminders() == {"created": 0}
    assert Notification.objects.count() == 1


def test_booked_late_gets_only_the_nearest_reminder(new_york_slot, patient, time_machine):
    time_machine.move_to(START - timedelta(minutes=90), tick=False)
    appointment = AppointmentFactory(slot=new_york_slot, patient=patient)
    assert reminders() == {"created": 1}
    assert Notification.objects.get().key == f"reminder:{appointment.pk}:2"


def test_reminder_hours_come_from_the_setting(new_york_slot, patient, settings):
    settings.REMINDER_HOURS = [48]
    appointment = AppointmentFactory(slot=new_york_slot, patient=patient)
    assert reminders() == {"created": 1}
    assert Notification.objects.get().key == f"reminder:{appointment.pk}:48"


@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_the_reminder_job_send_each_reminder_once():
    start = datetime.datetime.now(UTC).replace(microsecond=0) + timedelta(hours=5)
    doctor = DoctorFactory()
    slots = [SlotFactory(doctor=doctor, start=start + timedelta(minutes=15 * n), capacity=20) for n in range(3)]
    for slot in slots:
        for _ in range(10):
            AppointmentFactory(slot=slot)
    results = run_together([reminders, reminders, reminders])
    assert sum(result["created"] for result in results) == 30
    assert Notification.objects.count() == 30
    assert Notification.objects.values("key").distinct().count() == 30


def test_a_doctor_named_with_the_title_is_not_titled_twice():
    from notifications.sources import doctor_title

    assert doctor_title("Dr. Asha Menon") == "Dr. Asha Menon"
    assert doctor_title("Ada Lovelace") == "Dr Ada Lovelace"
    assert doctor_title("Drew Barry") == "Dr Drew Barry"
