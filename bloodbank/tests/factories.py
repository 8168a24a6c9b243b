import datetime

import factory
from django.utils import timezone

from accounts.tests.factories import HospitalFactory, UserFactory
from bloodbank.models import BloodBank, BloodRequest, StockLot


class BloodBankFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BloodBank

    name = factory.Sequence(lambda n: f"Blood Bank {n}")
    hospital = factory.SubFactory(HospitalFactory)
    license_number = factory.Sequence(lambda n: f"BB-{n:05d}")
    city = "Pune"
    latitude = 18.52
    longitude = 73.85


class StockLotFactory(factory.django.DjangoModelFactory):
    """A usable lot by default: collected today, expiring in 30 days."""

    class Meta:
        model = StockLot

    blood_bank = factory.SubFactory(BloodBankFactory)
    blood_group = "A+"
    component = "packed_red_cells"
    units = 5
    initial_units = factory.LazyAttribute(lambda o: o.units)
    collected_on = factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=5))
    expires_on = factory.LazyFunction(lambda: timezone.localdate() + datetime.timedelta(days=30))
    lot_number = factory.Sequence(lambda n: f"LOT-{n:05d}")


class BloodRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BloodRequest

    requester = factory.SubFactory(UserFactory)
    blood_bank = factory.SubFactory(BloodBankFactory)
    patient_name = "Ravi Kumar"
    blood_group = "A+"
    component = "packed_red_cells"
    units = 2
