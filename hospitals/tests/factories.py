import factory
from django.utils import timezone

from accounts.tests.factories import HospitalFactory, UserFactory  # noqa: F401 (re-exported)
from hospitals.models import Admission, Bed, BedStatus, Floor, Ward, WardType


class FloorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Floor

    hospital = factory.SubFactory(HospitalFactory)
    floor_number = factory.Sequence(lambda n: str(n))
    name = factory.LazyAttribute(lambda o: f"Floor {o.floor_number}")


class WardFactory(factory.django.DjangoModelFactory):
    """A ward on a new floor of a new multi-level hospital, unless told otherwise."""

    class Meta:
        model = Ward

    hospital = factory.SubFactory(HospitalFactory)
    floor = factory.LazyAttribute(lambda o: FloorFactory(hospital=o.hospital) if o.hospital.is_multi_level else None)
    name = factory.Sequence(lambda n: f"Ward {n}")
    ward_number = factory.Sequence(lambda n: f"W{n}")
    ward_type = WardType.GENERAL


class BedFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Bed

    ward = factory.SubFactory(WardFactory)
    hospital = factory.LazyAttribute(lambda o: o.ward.hospital)
    bed_number = factory.Sequence(lambda n: f"B{n}")
    status = BedStatus.AVAILABLE


class AdmissionFactory(factory.django.DjangoModelFactory):
    """An active admission; the bed is marked occupied to keep the invariant."""

    class Meta:
        model = Admission

    bed = factory.SubFactory(BedFactory, status=BedStatus.OCCUPIED)
    hospital = factory.LazyAttribute(lambda o: o.bed.hospital)
    patient = factory.SubFactory(UserFactory)
    patient_name = factory.LazyAttribute(lambda o: o.patient.fullname if o.patient else "Walk-in")
    reason = "Observation"
    admitted_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def occupy_bed(obj, create, extracted, **kwargs):
        if create and obj.discharged_at is None and obj.bed.status != BedStatus.OCCUPIED:
            Bed.objects.filter(pk=obj.bed_id).update(status=BedStatus.OCCUPIED)
            obj.bed.status = BedStatus.OCCUPIED
