"""Notifications derived from committed change-feed events: exactly one per event and recipient."""

import pytest
from django.db import connection

from bloodbank.tests.factories import BloodBankFactory, BloodRequestFactory, StockLotFactory
from conftest import client_for, run_together
from emergency.tests.factories import EmergencyFactory
from feed import reader
from feed.models import Event
from notifications.models import Delivery, Notification
from notifications.services import Spec, notifications_create
from notifications.sources import from_feed

BOOK = "/api/v1/appointments"


def book(client, slot):
    response = client.post(BOOK, {"slot_id": slot.pk}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_booking_notifies_the_patient_once_even_when_the_job_runs_twice(patient, patient_client, slot, booking_path):
    appointment = book(patient_client, slot)
    assert Notification.objects.count() == 0  # nothing inside the booking's transaction
    from_feed()
    from_feed()
    notification = Notification.objects.get()
    assert (notification.user, notification.event, notification.category) == (
        patient,
        "appointment.booked",
        "appointments",
    )
    assert notification.data["appointment_id"] == appointment["id"]
    assert slot.doctor.user.fullname in notification.body
    assert notification.key.startswith("event:")


def test_the_consumer_ignores_its_own_notification_events(patient, patient_client, slot):
    book(patient_client, slot)
    from_feed()
    reader.publish()
    created = Event.objects.filter(topic=f"user.{patient.pk}", type="notification.created")
    assert created.count() == 1
    assert created.get().data["notification_id"] == Notification.objects.get().pk
    assert from_feed()["created"] == 0
    assert Notification.objects.count() == 1


def test_cancel_and_reschedule_notify_the_patient(patient, patient_client, slot, doctor):
    from appointments.tests.factories import SlotFactory

    appointment = book(patient_client, slot)
    other = SlotFactory(doctor=doctor)
    assert patient_client.patch(f"{BOOK}/{appointment['id']}", {"slot_id": other.pk}, format="json").status_code == 200
    assert patient_client.post(f"{BOOK}/{appointment['id']}/cancel", {"reason": "Better"}).status_code == 200
    from_feed()
    events = list(Notification.objects.filter(user=patient).order_by("id").values_list("event", flat=True))
    assert events == ["appointment.booked", "appointment.rescheduled", "appointment.cancelled"]
    assert Notification.objects.get(event="appointment.cancelled").body.endswith("is cancelled: Better.")


def test_opt_out_of_email_for_appointments_is_respected(patient, patient_client, slot):
    response = patient_client.put(
        "/api/v1/notifications/preferences", {"email": {"appointments": False}}, format="json"
    )
    assert response.status_code == 200
    book(patient_client, slot)
    from_feed()
    deliveries = dict(Delivery.objects.values_list("channel", "status"))
    assert deliveries == {"in_app": "sent", "email": "skipped", "sms": "skipped"}  # no phone: no SMS


def test_email_and_sms_are_pending_where_the_user_has_addresses(patient, patient_client, slot):
    patient.phone_num = "+15550001111"
    patient.save(update_fields=["phone_num"])
    book(patient_client, slot)
    from_feed()
    deliveries = {row.channel: row for row in Delivery.objects.all()}
    assert deliveries["email"].status == deliveries["sms"].status == "pending"
    assert (deliveries["email"].address, deliveries["sms"].address) == (patient.email, "+15550001111")


@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_the_feed_job_create_one_notification(patient, slot):
    book(client_for(patient), slot)
    run_together([from_feed, from_feed, from_feed])
    assert Notification.objects.filter(user=patient).count() == 1
    assert Delivery.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_the_unique_key_stops_racing_inserts_of_one_occurrence(patient):
    def create():
        spec = Spec(key="reminder:1:24", user_id=patient.pk, category="account", event="test.message")
        from django.db import transaction

        with transaction.atomic():
            created = notifications_create([spec])
            # Hold the transaction a moment: the other insert meets the uncommitted row and waits.
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_sleep(0.2)")
        return len(created)

    assert sorted(run_together([create, create, create])) == [0, 0, 1]
    assert Notification.objects.count() == 1


def test_blood_request_decisions_notify_the_requester(patient, hospital, hospital_admin_client):
    bank = BloodBankFactory(hospital=hospital)
    StockLotFactory(blood_bank=bank, units=10)
    approved = BloodRequestFactory(requester=patient, blood_bank=bank, hospital=hospital)
    rejected = BloodRequestFactory(requester=patient, blood_bank=bank, hospital=hospital)
    assert hospital_admin_client.post(f"/api/v1/blood-requests/{approved.pk}/approve").status_code == 200
    response = hospital_admin_client.post(f"/api/v1/blood-requests/{rejected.pk}/reject", {"reason": "No match"})
    assert response.status_code == 200
    from_feed()
    rows = list(Notification.objects.filter(user=patient).order_by("id"))
    assert [row.event for row in rows] == ["blood_request.approved", "blood_request.rejected"]
    assert {row.category for row in rows} == {"blood"}
    assert "No match" in rows[1].body


def test_low_stock_notifies_the_bank_managers_once_per_crossing(
    hospital, hospital_admin, hospital_admin_client, other_hospital_admin, patient
):
    bank = BloodBankFactory(hospital=hospital)  # threshold: 5 by default
    assert bank.low_stock_threshold == 5

    def receive(units):
        body = {"blood_group": "A+", "component": "packed_red_cells", "units": units}
        assert hospital_admin_client.post(f"/api/v1/blood-banks/{bank.pk}/stock", body).status_code == 201

    def take(units):
        blood_request = BloodRequestFactory(requester=patient, blood_bank=bank, hospital=hospital, units=units)
        assert hospital_admin_client.post(f"/api/v1/blood-requests/{blood_request.pk}/approve").status_code == 200

    receive(6)  # at the threshold: nothing to say
    take(2)  # 4: below -> the first crossing
    take(1)  # 3: still below, no second notice
    from_feed()
    from_feed()
    low = Notification.objects.filter(event="stock.low")
    assert list(low.values_list("user_id", flat=True)) == [hospital_admin.pk]
    assert low.get().data == {
        "blood_bank_id": bank.pk,
        "blood_group": "A+",
        "component": "packed_red_cells",
        "units": 4,
        "threshold": 5,
    }
    receive(5)  # 8: above again
    take(4)  # 4: below -> the second crossing
    from_feed()
    assert low.count() == 2
    assert not Notification.objects.filter(user=other_hospital_admin).exists()


def test_emergency_status_changes_text_the_reporter_even_anonymous(admin_client):
    emergency = EmergencyFactory(reporter=None, contact_number="+15550002222")
    response = admin_client.post(f"/api/v1/emergencies/{emergency.pk}/status", {"status": "cancelled"})
    assert response.status_code == 200, response.content
    from_feed()
    from_feed()
    notification = Notification.objects.get()
    assert notification.user is None and notification.recipient_key == "phone:+15550002222"
    assert notification.key == f"emergency:{emergency.pk}:cancelled"
    deliveries = dict(notification.deliveries.values_list("channel", "status"))
    assert deliveries == {"in_app": "skipped", "email": "skipped", "sms": "pending"}
    assert notification.deliveries.get(channel="sms").address == "+15550002222"


def test_emergency_status_changes_reach_a_signed_in_reporters_inbox(admin_client, patient):
    emergency = EmergencyFactory(reporter=patient, contact_number="+15550003333")
    assert admin_client.post(f"/api/v1/emergencies/{emergency.pk}/status", {"status": "cancelled"}).status_code == 200
    from_feed()
    notification = Notification.objects.get(user=patient)
    assert notification.category == "emergency" and notification.event == "emergency.status"
    assert notification.deliveries.get(channel="sms").address == "+15550003333"


def test_a_bank_manager_sets_the_low_stock_threshold(hospital, hospital_admin_client):
    bank = BloodBankFactory(hospital=hospital)
    response = hospital_admin_client.patch(f"/api/v1/blood-banks/{bank.pk}", {"low_stock_threshold": 2})
    assert response.status_code == 200 and response.json()["low_stock_threshold"] == 2
    bank.refresh_from_db()
    assert bank.low_stock_threshold == 2
    assert hospital_admin_client.patch(f"/api/v1/blood-banks/{bank.pk}", {"low_stock_threshold": -1}).status_code == 400
