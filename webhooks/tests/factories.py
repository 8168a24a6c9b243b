import factory

from accounts.tests.factories import UserFactory
from webhooks import signing
from webhooks.models import Webhook, WebhookDelivery


class WebhookFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Webhook

    url = factory.Sequence(lambda n: f"https://hooks{n}.example.com/in")
    topics = factory.LazyAttribute(lambda webhook: [f"hospital.{webhook.hospital.pk}.beds"] if webhook.hospital else [])
    secret = factory.LazyFunction(signing.new_secret)
    hospital = None
    created_by = factory.SubFactory(UserFactory, role="admin")


class WebhookDeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookDelivery

    webhook = factory.SubFactory(WebhookFactory)
    event_id = factory.Sequence(lambda n: n + 1)
    message_id = factory.LazyAttribute(lambda delivery: f"evt_{delivery.event_id}")
    event_type = "bed.changed"
    payload = factory.LazyAttribute(lambda delivery: {"id": delivery.event_id, "topic": "hospital.1.beds"})
