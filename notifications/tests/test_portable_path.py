"""The portable path (databases other than PostgreSQL: SQLite for `make run`): notifications, their
deliveries and reminders are created once and delivered, as on the set-based PostgreSQL path. Run here
on PostgreSQL with the switch turned, which runs the same statements the other path sends."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from appointments.tests.factories import AppointmentFactory, SlotFactory
from notifications import delivery, services
from notifications.delivery import deliver
from notifications.models import Delivery, Notification
from notifications.sources import reminders
from notifications.tests.conftest import notify

pytestmark = pytest.mark.django_db


@pytest.fixture
def portable(monkeypatch, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    monkeypatch.setattr(services, "postgresql_path", lambda: False)
    monkeypatch.setattr(delivery, "postgresql_path", lambda: False)


def test_a_notification_is_created_once_with_its_deliveries_and_sent(portable, patient):
    notification = notify(patient, "k:portable", title="Your appointment", body="Tomorrow at 09:00.")
    again = notify(patient, "k:portable", title="Your appointment", body="Tomorrow at 09:00.")
    assert again is None or again.pk == notification.pk
    assert Notification.objects.filter(key="k:portable").count() == 1
    channels = dict(Delivery.objects.filter(notification=notification).values_list("channel", "status"))
    assert channels["in_app"] == "sent" and channels["email"] == "pending"
    assert deliver()["sent"] >= 1
    assert [message.subject for message in mail.outbox] == ["Your appointment"]
    email = notification.deliveries.get(channel="email")
    assert (email.status, email.attempts) == ("sent", 1) and email.sent_at
    assert deliver() == {"sent": 0, "retrying": 0, "failed": 0}
    assert len(mail.outbox) == 1


def test_reminders_are_created_once(portable, patient):
    slot = SlotFactory(start=timezone.now() + timedelta(hours=20))
    appointment = AppointmentFactory(slot=slot, patient=patient)
    assert reminders() == {"created": 1}
    assert reminders() == {"created": 0}
    assert Notification.objects.get().key == f"reminder:{appointment.pk}:24"
