"""The jobs against a local HTTPS endpoint: fan-out, signed delivery (checked with the
`standardwebhooks` package, an independent implementation of the spec), retries and backoff over
time, failure after 24 h, deactivation after 3 days, SSRF at delivery, redirects, the 1 KB cap."""

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
import standardwebhooks
import time_machine
from django.db import transaction
from django.utils import timezone

from accounts.tests.factories import UserFactory
from conftest import client_for
from feed import reader
from feed.emit import emit
from feed.models import Event
from webhooks import delivery as jobs
from webhooks.models import Webhook, WebhookDelivery
from webhooks.tests.factories import WebhookFactory

pytestmark = pytest.mark.django_db
START = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def _event(topic="hospital.1.beds", kind="bed.changed", data=None):
    with transaction.atomic():
        emit(topic, kind, data or {"bed_id": 3, "status": "occupied"})


def _hook(endpoint, **fields):
    fields.setdefault("topics", ["hospital.1.beds"])
    fields.setdefault("url", endpoint.url)
    return WebhookFactory(**fields)


def test_event_is_delivered_signed_per_standard_webhooks(endpoint):
    webhook = _hook(endpoint)
    _event()
    assert jobs.fan_out() == {"events": 1, "deliveries": 1}
    assert jobs.deliver() == {"delivered": 1, "failed": 0, "retrying": 0}
    [request] = endpoint.received
    headers = request["headers"]
    payload = standardwebhooks.Webhook(webhook.secret).verify(request["body"], headers)
    event = Event.objects.get()
    assert headers["webhook-id"] == f"evt_{event.pk}" == payload["id"]
    assert headers["Content-Type"] == "application/json" and request["path"] == "/hook"
    assert payload["type"] == "bed.changed"
    assert abs(datetime.fromisoformat(payload["timestamp"]) - event.at) < timedelta(milliseconds=1)  # ISO, ms
    assert payload["data"]["id"] == event.pk and payload["data"]["topic"] == "hospital.1.beds"
    assert payload["data"]["data"] == {"bed_id": 3, "status": "occupied"}
    row = WebhookDelivery.objects.get()
    assert (row.status, row.attempts, row.response_status, row.event_id) == ("delivered", 1, 204, event.pk)
    # A tampered body or another secret does not verify.
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(webhook.secret).verify(request["body"] + b" ", headers)
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook("whsec_" + "A" * 44).verify(request["body"], headers)


def test_only_subscribed_active_webhooks_get_the_event_and_not_earlier_events(endpoint):
    _event()  # published before any webhook exists
    jobs.fan_out()
    subscribed, other_topic = _hook(endpoint), _hook(endpoint, topics=["hospital.2.beds"])
    inactive = _hook(endpoint, is_active=False)
    _event()
    _event(topic="hospital.2.slots")
    jobs.fan_out()
    assert list(WebhookDelivery.objects.values_list("webhook_id", flat=True)) == [subscribed.pk]
    assert not other_topic.deliveries.exists() and not inactive.deliveries.exists()
    assert jobs.fan_out() == {"events": 0, "deliveries": 0}  # a second run creates nothing


def test_test_ping_is_delivered(endpoint, admin_client):
    webhook = _hook(endpoint)
    response = admin_client.post(f"/api/v1/webhooks/{webhook.pk}/test")
    assert response.status_code == 202
    jobs.deliver()
    [request] = endpoint.received
    payload = standardwebhooks.Webhook(webhook.secret).verify(request["body"], request["headers"])
    assert payload["type"] == "webhook.ping" and payload["data"]["webhook_id"] == webhook.pk
    assert admin_client.get(f"/api/v1/webhooks/{webhook.pk}/deliveries").json()["results"][0]["status"] == "delivered"


def test_failures_retry_with_exponential_backoff_then_fail_after_24_hours(endpoint):
    endpoint.answer(500, body=b"x" * 5000)
    with time_machine.travel(START, tick=False) as clock:
        webhook = _hook(endpoint)
        _event()
        jobs.fan_out()
        waits = []
        for _ in range(20):
            jobs.deliver()
            row = WebhookDelivery.objects.get()
            if row.status != "pending":
                break
            waits.append(row.next_attempt_at - timezone.now())
            assert jobs.deliver() == {"delivered": 0, "failed": 0, "retrying": 0}  # not due yet
            clock.move_to(row.next_attempt_at)
        row = WebhookDelivery.objects.get()
        assert waits[:7] == [timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
                             timedelta(hours=5), timedelta(hours=10), timedelta(hours=10)]  # fmt: skip
        assert row.status == "failed" and row.next_attempt_at is None
        assert row.attempts == len(endpoint.received) == 8
        assert timezone.now() - row.retry_started_at >= timedelta(hours=24)
        assert row.response_status == 500 and len(row.response_body) == 1024
        assert row.last_error.startswith("http_error")
        webhook.refresh_from_db()
        assert webhook.failure_count == 8 and webhook.is_active  # not yet 3 days


def test_a_success_clears_the_failure_run(endpoint):
    endpoint.answer(503)
    with time_machine.travel(START, tick=False) as clock:
        webhook = _hook(endpoint)
        _event()
        jobs.fan_out()
        jobs.deliver()
        webhook.refresh_from_db()
        assert webhook.failure_count == 1 and webhook.failing_since == START
        endpoint.answer(200)
        clock.shift(timedelta(seconds=5))
        assert jobs.deliver()["delivered"] == 1
        webhook.refresh_from_db()
        assert webhook.failure_count == 0 and webhook.failing_since is None


def test_endpoint_failing_for_3_days_is_deactivated_and_its_owners_told(endpoint, hospital):
    endpoint.answer(500)
    creator = UserFactory(role="hospital_admin", hospital=hospital)
    colleague = UserFactory(role="hospital_admin", hospital=hospital)
    with time_machine.travel(START, tick=False) as clock:
        webhook = _hook(endpoint, hospital=hospital, created_by=creator)
        while True:
            _event()  # new events keep coming, every delivery keeps failing
            jobs.fan_out()
            jobs.deliver()
            webhook.refresh_from_db()
            if not webhook.is_active:
                break
            assert timezone.now() - START < timedelta(days=3)
            clock.shift(timedelta(hours=6))
        assert timezone.now() - START == timedelta(days=3)
        reader.publish()
        notices = Event.objects.filter(type="webhook.deactivated")
        assert sorted(notices.values_list("topic", flat=True)) == sorted([f"user.{creator.pk}", f"user.{colleague.pk}"])
        assert notices.first().data["webhook_id"] == webhook.pk
        # Deactivated: nothing more is sent, not even what is already due.
        sent = len(endpoint.received)
        clock.shift(timedelta(days=1))
        _event()
        jobs.fan_out()
        assert jobs.deliver() == {"delivered": 0, "failed": 0, "retrying": 0}
        assert len(endpoint.received) == sent


def test_redeliver_sends_a_failed_delivery_again(endpoint, admin_user):
    endpoint.answer(500)
    with time_machine.travel(START, tick=False) as clock:
        admin_client = client_for(admin_user)  # a token issued in the travelled time
        webhook = _hook(endpoint)
        _event()
        jobs.fan_out()
        row = WebhookDelivery.objects.get()
        WebhookDelivery.objects.filter(pk=row.pk).update(status="failed", next_attempt_at=None, attempts=8)
        endpoint.answer(200)
        response = admin_client.post(f"/api/v1/webhooks/{webhook.pk}/deliveries/{row.pk}/redeliver")
        assert response.status_code == 202
        clock.shift(timedelta(seconds=1))
        assert jobs.deliver()["delivered"] == 1
        row.refresh_from_db()
        assert row.status == "delivered" and row.attempts == 9
        assert endpoint.received[-1]["headers"]["webhook-id"] == row.message_id  # the same message


def test_dns_changing_to_a_private_address_is_refused_at_delivery(endpoint, settings):
    webhook = _hook(endpoint)
    _event()
    jobs.fan_out()
    settings.WEBHOOKS_ALLOW_PRIVATE = False  # production: localhost now resolves to a loopback address
    assert jobs.deliver() == {"delivered": 0, "failed": 0, "retrying": 1}
    row = WebhookDelivery.objects.get()
    assert row.last_error.startswith("url_private_address") and row.response_status is None
    assert endpoint.received == []
    endpoint.dns["localhost"] = ["10.0.0.1"]
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    WebhookDelivery.objects.update(next_attempt_at=timezone.now())
    jobs.deliver()
    assert WebhookDelivery.objects.get().last_error.startswith("url_private_address")
    assert endpoint.received == [] and Webhook.objects.get(pk=webhook.pk).failure_count == 2


@pytest.mark.parametrize("address", ["127.0.0.1", "10.0.0.1", "169.254.169.254", "::1", "fd00:ec2::254"])
def test_every_private_address_is_refused_at_delivery(endpoint, settings, address):
    _hook(endpoint, url="https://hooks.example.com/in")
    endpoint.dns["hooks.example.com"] = [address]
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    _event()
    jobs.fan_out()
    jobs.deliver()
    assert WebhookDelivery.objects.get().last_error.startswith("url_private_address")


def test_redirect_is_not_followed_and_counts_as_a_failure(endpoint, second_endpoint):
    endpoint.answer(302, headers={"Location": second_endpoint.url})
    _hook(endpoint)
    _event()
    jobs.fan_out()
    assert jobs.deliver()["retrying"] == 1
    row = WebhookDelivery.objects.get()
    assert row.response_status == 302 and row.last_error.startswith("redirect_refused")
    assert len(endpoint.received) == 1 and second_endpoint.received == []


def test_redirect_to_the_metadata_address_is_not_followed(endpoint):
    endpoint.answer(307, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    _hook(endpoint)
    _event()
    jobs.fan_out()
    jobs.deliver()
    assert WebhookDelivery.objects.get().last_error.startswith("redirect_refused")


def test_slow_endpoint_times_out(endpoint, settings):
    settings.WEBHOOKS_TIMEOUT_SECONDS = 0.5
    endpoint.answer(200, delay=1.5)
    _hook(endpoint)
    _event()
    jobs.fan_out()
    assert jobs.deliver()["retrying"] == 1
    assert WebhookDelivery.objects.get().last_error.startswith("connection_failed: timed out")


def test_an_answer_dripping_past_the_timeout_is_cut_off(endpoint, settings):
    settings.WEBHOOKS_TIMEOUT_SECONDS = 1.0
    endpoint.answer(200, body=b"x" * 40, drip=0.1)  # every read within the timeout, the whole 4 s
    _hook(endpoint)
    _event()
    jobs.fan_out()
    started = time.monotonic()
    assert jobs.deliver()["retrying"] == 1
    assert time.monotonic() - started < 2.5
    assert (
        "timed out" in WebhookDelivery.objects.get().last_error or "timeout" in WebhookDelivery.objects.get().last_error
    )


def test_certificate_not_trusted_is_a_failure(endpoint, settings):
    settings.WEBHOOKS_CA_BUNDLE = ""  # the system's CAs do not know the self-signed certificate
    _hook(endpoint)
    _event()
    jobs.fan_out()
    jobs.deliver()
    assert "SSL" in WebhookDelivery.objects.get().last_error and endpoint.received == []


def test_an_outage_never_fails_the_api_write(endpoint, admin_client, hospital):
    endpoint.answer(500)
    _hook(endpoint, topics=[f"hospital.{hospital.pk}.beds"])
    response = admin_client.patch(f"/api/v1/hospitals/{hospital.pk}", {"name": "Renamed"}, format="json")
    assert response.status_code == 200  # nothing is sent in the request: the jobs do it later
    assert endpoint.received == []


def test_message_body_is_compact_json():
    webhook = WebhookFactory()
    row = WebhookDelivery.objects.create(
        webhook=webhook, event_id=1, message_id="evt_1", event_type="t", payload={"a": 1}
    )
    assert json.loads(jobs.message(row)) == {
        "id": "evt_1",
        "type": "t",
        "timestamp": json.loads(jobs.message(row))["timestamp"],
        "data": {"a": 1},
    }
