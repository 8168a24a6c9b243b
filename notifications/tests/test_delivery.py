"""Delivery: e-mail through Django's backend, SMS through SMS_BACKEND; failures retried with backoff
up to NOTIFY_MAX_ATTEMPTS, nothing lost, and the API write that caused the event never fails."""

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from smtplib import SMTPException

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

from notifications.delivery import backoff, deliver
from notifications.models import Delivery
from notifications.sources import from_feed
from notifications.tests.conftest import notify

LOCMEM = "django.core.mail.backends.locmem.EmailBackend"


class DownBackend(BaseEmailBackend):
    """An SMTP server that is down."""

    def send_messages(self, email_messages):
        raise SMTPException("Connection refused")


@pytest.fixture
def email_only(patient, settings):
    settings.EMAIL_BACKEND = LOCMEM
    return patient


def test_email_is_sent_as_text_and_html(email_only, settings):
    notification = notify(email_only, "k:1", title="Your appointment", body="Tomorrow at 09:00 <b>sharp</b>.")
    assert deliver() == {"sent": 1, "retrying": 0, "failed": 0}
    message = mail.outbox[0]
    assert message.to == [email_only.email] and message.subject == "Your appointment"
    assert "Tomorrow at 09:00 <b>sharp</b>." in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and "&lt;b&gt;sharp&lt;/b&gt;" in html
    email = notification.deliveries.get(channel="email")
    assert (email.status, email.attempts, email.last_error) == ("sent", 1, "") and email.sent_at
    assert deliver() == {"sent": 0, "retrying": 0, "failed": 0}
    assert len(mail.outbox) == 1


def test_smtp_outage_never_fails_the_booking_and_the_mail_goes_out_later(
    patient, patient_client, slot, settings, time_machine
):
    settings.EMAIL_BACKEND = "notifications.tests.test_delivery.DownBackend"
    settings.NOTIFY_BACKOFF_SECONDS = 60
    time_machine.move_to(timezone.now(), tick=False)
    assert patient_client.post("/api/v1/appointments", {"slot_id": slot.pk}, format="json").status_code == 201
    from_feed()
    email = Delivery.objects.get(channel="email")
    assert deliver() == {"sent": 0, "retrying": 1, "failed": 0}
    email.refresh_from_db()
    assert (email.status, email.attempts) == ("pending", 1)
    assert "Connection refused" in email.last_error
    assert email.next_attempt_at == timezone.now() + timedelta(seconds=60)
    assert deliver()["retrying"] == 0  # not due yet
    time_machine.shift(timedelta(seconds=61))
    assert deliver() == {"sent": 0, "retrying": 1, "failed": 0}
    email.refresh_from_db()
    assert email.attempts == 2 and email.next_attempt_at == timezone.now() + timedelta(seconds=120)  # doubled
    settings.EMAIL_BACKEND = LOCMEM  # the server is back
    time_machine.shift(timedelta(seconds=121))
    assert deliver() == {"sent": 1, "retrying": 0, "failed": 0}
    email.refresh_from_db()
    assert (email.status, email.attempts) == ("sent", 3)
    assert mail.outbox[0].subject.startswith("Appointment booked")


def test_a_delivery_fails_for_good_after_the_maximum_attempts(patient, settings, time_machine):
    settings.EMAIL_BACKEND = "notifications.tests.test_delivery.DownBackend"
    settings.NOTIFY_MAX_ATTEMPTS = 3
    time_machine.move_to(timezone.now(), tick=False)
    notification = notify(patient, "k:1")
    outcomes = []
    for _ in range(3):
        outcomes.append(deliver())
        time_machine.shift(timedelta(hours=7))
    assert [outcome["failed"] for outcome in outcomes] == [0, 0, 1]
    email = notification.deliveries.get(channel="email")
    assert (email.status, email.attempts, email.next_attempt_at) == ("failed", 3, None)
    assert deliver() == {"sent": 0, "retrying": 0, "failed": 0}


def test_backoff_doubles_and_is_capped(settings):
    settings.NOTIFY_BACKOFF_SECONDS = 60
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [60, 120, 240, 480]
    assert backoff(30) == timedelta(hours=6)


class FakeProvider(BaseHTTPRequestHandler):
    answers: list[int] = []
    received: list[dict] = []

    def do_POST(self):  # noqa: N802 - the http.server name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(
            {"body": json.loads(body), "auth": self.headers["Authorization"], "type": self.headers["Content-Type"]}
        )
        status = type(self).answers.pop(0) if type(self).answers else 200
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture
def provider(settings):
    FakeProvider.answers, FakeProvider.received = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeProvider)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.SMS_BACKEND = "http"
    settings.SMS_HTTP_URL = f"http://127.0.0.1:{server.server_port}/messages"
    settings.SMS_HTTP_TOKEN = "secret-token"
    yield FakeProvider
    server.shutdown()
    server.server_close()


def test_sms_http_provider_500_is_retried_then_sent(patient, provider, settings, time_machine):
    settings.EMAIL_BACKEND = LOCMEM
    patient.phone_num = "+15550001111"
    patient.save(update_fields=["phone_num"])
    time_machine.move_to(timezone.now(), tick=False)
    notification = notify(patient, "k:1", title="Blood request approved", body="Two units are ready.")
    provider.answers = [500, 200]
    assert deliver() == {"sent": 1, "retrying": 1, "failed": 0}  # the e-mail went, the SMS did not
    sms = notification.deliveries.get(channel="sms")
    assert (sms.status, sms.attempts) == ("pending", 1) and "500" in sms.last_error
    time_machine.shift(timedelta(seconds=settings.NOTIFY_BACKOFF_SECONDS + 1))
    assert deliver() == {"sent": 1, "retrying": 0, "failed": 0}
    sms.refresh_from_db()
    assert (sms.status, sms.attempts) == ("sent", 2)
    assert len(provider.received) == 2
    request = provider.received[-1]
    assert request["auth"] == "Bearer secret-token" and request["type"] == "application/json"
    assert request["body"] == {"to": "+15550001111", "text": "Blood request approved: Two units are ready."}


def test_sms_provider_unreachable_is_retried(patient, settings):
    settings.SMS_BACKEND = "http"
    settings.SMS_HTTP_URL = "http://127.0.0.1:9/nothing-listens-here"
    patient.phone_num = "+15550001111"
    patient.save(update_fields=["phone_num"])
    settings.EMAIL_BACKEND = LOCMEM
    notification = notify(patient, "k:1")
    assert deliver()["retrying"] == 1
    assert "could not be reached" in notification.deliveries.get(channel="sms").last_error


def test_sms_file_backend_appends_a_line(patient, settings, tmp_path):
    settings.SMS_BACKEND = "file"
    settings.SMS_FILE_PATH = str(tmp_path / "sms" / "out.log")
    settings.EMAIL_BACKEND = LOCMEM
    patient.phone_num = "+15550001111"
    patient.save(update_fields=["phone_num"])
    notify(patient, "k:1", title="Hello", body="World")
    deliver()
    line = json.loads((tmp_path / "sms" / "out.log").read_text().strip())
    assert line["to"] == "+15550001111" and line["text"] == "Hello: World"


def test_sms_console_backend_prints(patient, settings, capsys):
    settings.SMS_BACKEND = "console"
    settings.EMAIL_BACKEND = LOCMEM
    patient.phone_num = "+15550001111"
    patient.save(update_fields=["phone_num"])
    notify(patient, "k:1", title="Hello", body="World")
    deliver()
    assert "SMS to +15550001111: Hello: World" in capsys.readouterr().out


@pytest.mark.django_db(transaction=True)
def test_two_delivery_workers_send_each_message_once(settings):
    from accounts.tests.factories import UserFactory
    from conftest import run_together

    settings.EMAIL_BACKEND = LOCMEM
    for number in range(20):
        notify(UserFactory(), f"k:{number}")
    results = run_together([deliver, deliver, deliver])
    assert sum(result["sent"] for result in results) == 20
    assert len(mail.outbox) == 20
    assert Delivery.objects.filter(channel="email", status="sent", attempts=1).count() == 20


def test_a_worker_killed_after_claiming_leaves_the_message_to_another_after_the_lease(
    email_only, time_machine, settings
):
    from notifications.delivery import _claim

    time_machine.move_to(timezone.now(), tick=False)
    notification = notify(email_only, "k:1")
    assert len(_claim(timezone.now(), 10)) == 1  # claimed, then the worker dies before sending
    assert deliver() == {"sent": 0, "retrying": 0, "failed": 0}  # leased: no other worker takes it
    time_machine.shift(timedelta(seconds=settings.NOTIFY_LEASE_SECONDS + 1))
    assert deliver() == {"sent": 1, "retrying": 0, "failed": 0}
    email = notification.deliveries.get(channel="email")
    assert (email.status, email.attempts) == ("sent", 2)
    assert len(mail.outbox) == 1
