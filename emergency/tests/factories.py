import factory

from accounts.tests.factories import HospitalFactory, UserFactory
from emergency.models import Ambulance, Emergency, EmergencyEvent


class DriverFactory(UserFactory):
    role = "ambulance_driver"
    hospital = factory.SubFactory(HospitalFactory)


class AmbulanceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Ambulance

    hospital = factory.SubFactory(HospitalFactory)
    vehicle_number = factory.Sequence(lambda n: f"MH-12-AM-{n:04d}")
    ambulance_type = Ambulance.AmbulanceType.BASIC
    driver = None
    status = Ambulance.Status.AVAILABLE


class EmergencyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Emergency
        skip_postgeneration_save = True

    contact_number = "+91 98765 43210"
    emergency_type = Emergency.EmergencyType.ACCIDENT
    severity = Emergency.Severity.HIGH
    address = "MG Road, Pune"
    latitude = 18.53
    longitude = 73.86
    hospital = factory.SubFactory(HospitalFactory)

    @factory.post_generation
    def reported_event(obj, create, extracted, **kwargs):
        if create:
            EmergencyEvent.objects.create(emergency=obj, status=Emergency.Status.REPORTED, to_hospital=obj.hospital)
