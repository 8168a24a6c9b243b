import factory

from accounts.models import User
from hospitals.models import Hospital

PASSWORD = "Correct-Horse-42"


class HospitalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Hospital

    name = factory.Sequence(lambda n: f"General Hospital {n}")
    registration_number = factory.Sequence(lambda n: f"REG-{n:05d}")
    city = "Pune"
    latitude = 18.52
    longitude = 73.85
    emergency_services = True
    timezone = "Asia/Kolkata"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    fullname = factory.Sequence(lambda n: f"Person Number {n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.org")
    role = User.Role.USER
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()
