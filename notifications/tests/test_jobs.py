"""The jobs as the worker and cron run them (`run_job`), donors eligible again, events of other apps
(waitlist offers, deactivated webhooks), and the Django admin."""

import datetime
from datetime import UTC, timedelta

import pytest
from django.core.management import call_command
from django.db import transaction

from accounts.tests.factories import UserFactory
from bloodbank.tests.factories import BloodBankFactory
from feed.emit import emit
from hms import jobs
from notifications.models import Notification
from notifications.sources import donors_eligible, from_feed
from notifications.tests.conftest import notify


def test_the_jobs_are_registered():
    names = {job.name for job in jobs.jobs()}
    assert {
        "notifications.from_feed",
        "notifications.reminders",
        "notifications.deliver",
        "notifications.donors_eligible",
    } <= names


def test_run_job_command_runs_the_feed_job(patient, patient_client, slot, capsys):
    assert patient_client.post("/api/v1/appointments", {"slot_id": slot.pk}, format="json").status_code == 201
    call_command("run_job", "notifications.from_feed")
    call_command("run_job", "notifications.from_feed")
    assert Notification.objects.filter(user=patient, event="appointment.booked").count() == 1
    call_command("run_job", "notifications.deliver")
    assert "notifications.deliver" in capsys.readouterr().out


def test_a_waitlist_offer_notifies_the_patient(patient, slot):
    data = {"waitlist_id": 3, "slot_id": slot.pk, "expires_at": "2026-03-08T10:15:00Z"}
    with transaction.atomic():
        emit(f"user.{patient.pk}", "waitlist.offered", data)
    from_feed()
    notification = Notification.objects.get(user=patient)
    assert notification.event == "waitlist.offered" and notification.category == "appointments"
    assert "until Sunday 8 March 2026, 15:45 IST" in notification.body  # Asia/Kolkata, the hospital's zone
    assert slot.doctor.user.fullname in notification.body
    assert notification.data == data


def test_a_deactivated_webhook_tells_its_owner(hospital_admin):
    with transaction.atomic():
        emit(
            f"user.{hospital_admin.pk}",
            "webhook.deactivated",
            {"webhook_id": 9, "url": "https://hooks.example/x", "last_error": "timeout"},
        )
    from_feed()
    notification = Notification.objects.get(user=hospital_admin)
    assert notification.category == "account" and "https://hooks.example/x" in notification.body


def test_a_deactivated_user_is_not_notified(patient):
    patient.is_active = False
    patient.save(update_fields=["is_active"])
    assert notify(patient, "k:1") is None
    assert not Notification.objects.exists()


@pytest.mark.time_machine(datetime.datetime(2026, 5, 1, 9, 0, tzinfo=UTC), tick=False)
def test_donors_are_told_once_when_eligible_again(donor, hospital_admin_client, hospital):
    bank = BloodBankFactory(hospital=hospital)
    from bloodbank.models import Donation
    from bloodbank.tests.factories import StockLotFactory

    def donate(user, days_ago):
        lot = StockLotFactory(blood_bank=bank, component="whole_blood")
        Donation.objects.create(
            donor=user, blood_bank=bank, donated_on=datetime.date(2026, 5, 1) - timedelta(days=days_ago),
            blood_group="A+", component="whole_blood", units=1, lot=lot, recorded_by=user,
        )  # fmt: skip

    donate(donor, 56)  # eligible from today
    recent = UserFactory(role="donor")
    donate(recent, 30)  # not yet
    long_ago = UserFactory(role="donor")
    donate(long_ago, 200)  # eligible for months: not announced now
    assert donors_eligible() == {"created": 1}
    assert donors_eligible() == {"created": 0}
    notification = Notification.objects.get()
    assert notification.user == donor and notification.event == "donor.eligible"
    assert notification.data == {"last_donation": "2026-03-06"}


def test_admin_lists_notifications_and_deliveries(admin_site, patient):
    notification = notify(patient, "k:1", title="Shown in the admin")
    assert "Shown in the admin" in admin_site.get("/admin/notifications/notification/").content.decode()
    assert admin_site.get(f"/admin/notifications/notification/{notification.pk}/change/").status_code == 200
    assert admin_site.get("/admin/notifications/delivery/").status_code == 200
