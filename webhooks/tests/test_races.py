"""Jobs racing on PostgreSQL: two fan-out runs create each delivery once, two deliver runs send each
delivery once."""

import pytest
from django.db import transaction

from conftest import run_together
from feed.emit import emit
from webhooks import delivery as jobs
from webhooks.models import FanOutCursor, WebhookDelivery
from webhooks.tests.factories import WebhookFactory

EVENTS = 120


def _events(count: int) -> None:
    for number in range(count):
        with transaction.atomic():
            emit("hospital.1.beds", "bed.changed", {"bed_id": number})


@pytest.mark.django_db(transaction=True)
def test_two_racing_fan_outs_create_each_delivery_once():
    webhooks = WebhookFactory.create_batch(3, topics=["hospital.1.beds"])
    _events(EVENTS)
    results = run_together([lambda: jobs.fan_out(batch=10), lambda: jobs.fan_out(batch=10)])
    assert sum(result["events"] for result in results) == EVENTS  # each event fanned out by one run
    assert WebhookDelivery.objects.count() == EVENTS * len(webhooks)
    pairs = set(WebhookDelivery.objects.values_list("webhook_id", "event_id"))
    assert len(pairs) == EVENTS * len(webhooks)


@pytest.mark.django_db(transaction=True)
def test_fan_out_repeated_from_an_old_cursor_creates_nothing_twice():
    WebhookFactory(topics=["hospital.1.beds"])
    _events(5)
    jobs.fan_out()
    FanOutCursor.objects.update(position=0)  # as if a run's cursor write had been lost
    jobs.fan_out()
    assert WebhookDelivery.objects.count() == 5


@pytest.mark.django_db(transaction=True)
def test_two_racing_deliver_runs_send_each_delivery_once(endpoint):
    WebhookFactory(url=endpoint.url, topics=["hospital.1.beds"])
    _events(20)
    jobs.fan_out()
    results = run_together([lambda: jobs.deliver(limit=50), lambda: jobs.deliver(limit=50)])
    assert sum(result["delivered"] for result in results) == 20
    ids = [request["headers"]["webhook-id"] for request in endpoint.received]
    assert len(ids) == len(set(ids)) == 20
    assert set(WebhookDelivery.objects.values_list("status", "attempts")) == {("delivered", 1)}
