from datetime import timedelta
from zoneinfo import ZoneInfo

import factory
from django.db.models import F
from django.utils import timezone

from accounts.tests.factories import HospitalFactory, UserFactory
from appointments.models import Appointment, Doctor, Hold, OpdSchedule, Slot


def _next_hour(days: int = 1):
    return (timezone.now() + timedelta(days=days)).replace(minute=0, second=0, microsecond=0)


class DoctorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Doctor

    hospital = factory.SubFactory(HospitalFactory)
    user = factory.SubFactory(UserFactory, role="doctor", hospital=factory.SelfAttribute("..hospital"))
    specialization = "General Medicine"
    department = "Medicine"
    qualification = "MBBS"
    license_number = factory.Sequence(lambda n: f"LIC-{n:06d}")
    experience_years = 5
    consultation_fee = 300


class OpdScheduleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OpdSchedule

    doctor = factory.SubFactory(DoctorFactory)
    hospital = factory.SelfAttribute("doctor.hospital")
    department = "Medicine"
    weekdays = [0, 1, 2, 3, 4, 5, 6]
    start_time = "09:00"
    end_time = "12:00"
    slot_minutes = 30
    capacity_per_slot = 3
    valid_from = factory.LazyFunction(lambda: timezone.now().date() - timedelta(days=1))


class SlotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Slot

    doctor = factory.SubFactory(DoctorFactory)
    hospital = factory.SelfAttribute("doctor.hospital")
    start = factory.Sequence(lambda n: _next_hour() + timedelta(minutes=15 * n))
    end = factory.LazyAttribute(lambda o: o.start + timedelta(minutes=15))
    local_date = factory.LazyAttribute(lambda o: o.start.astimezone(ZoneInfo(o.hospital.timezone)).date())
    capacity = 5


class AppointmentFactory(factory.django.DjangoModelFactory):
    """A row as the booking service would leave it (seat and token taken), for any slot time."""

    class Meta:
        model = Appointment

    slot = factory.SubFactory(SlotFactory)
    patient = factory.SubFactory(UserFactory)
    doctor = factory.SelfAttribute("slot.doctor")
    hospital = factory.SelfAttribute("slot.hospital")
    status = Appointment.Status.BOOKED

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        slot = kwargs["slot"]
        seat = 0 if kwargs.get("status") == Appointment.Status.CANCELLED else 1
        Slot.objects.filter(pk=slot.pk).update(booked=F("booked") + seat, last_token=F("last_token") + 1)
        slot.refresh_from_db()
        kwargs.setdefault("token_number", slot.last_token)
        return super()._create(model_class, *args, **kwargs)


class HoldFactory(factory.django.DjangoModelFactory):
    """An active hold as the hold service would leave it (its seat counted in the slot's `hold_count`)."""

    class Meta:
        model = Hold

    slot = factory.SubFactory(SlotFactory)
    patient = factory.SubFactory(UserFactory)
    hospital = factory.SelfAttribute("slot.hospital")
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(minutes=5))

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        if kwargs.get("status", Hold.Status.ACTIVE) == Hold.Status.ACTIVE:
            Slot.objects.filter(pk=kwargs["slot"].pk).update(hold_count=F("hold_count") + 1)
            kwargs["slot"].refresh_from_db()
        return super()._create(model_class, *args, **kwargs)
