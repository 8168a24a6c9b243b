"""Webhooks and their deliveries in the Django admin: listed, the secret never shown."""

import pytest
from django.test import Client

from webhooks.tests.factories import WebhookDeliveryFactory

pytestmark = pytest.mark.django_db


def test_admin_lists_webhooks_and_deliveries_without_the_secret(admin_user):
    delivery = WebhookDeliveryFactory()
    client = Client()
    client.force_login(admin_user)
    for path in ("/admin/webhooks/webhook/", "/admin/webhooks/webhookdelivery/",
                 f"/admin/webhooks/webhookdelivery/{delivery.pk}/change/"):  # fmt: skip
        assert client.get(path).status_code == 200, path
    page = client.get(f"/admin/webhooks/webhook/{delivery.webhook_id}/change/")
    assert page.status_code == 200 and delivery.webhook.secret not in page.content.decode()
