import factory

from accounts.tests.factories import UserFactory
from webhooks import signing
from webhooks.models import Webhook


class WebhookFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Webhook

    url = factory.Sequence(lambda n: f"https://hooks{n}.example.com/in")
    topics = factory.LazyAttribute(lambda webhook: [f"hospital.{webhook.hospital.pk}.beds"] if webhook.hospital else [])
    secret = factory.LazyFunction(signing.new_secret)
    hospital = None
    created_by = factory.SubFactory(UserFactory, role="admin")
