import factory

from accounts.tests.factories import HospitalFactory, UserFactory
from transfers.models import Referral, ReferralEvent


class ReferralFactory(factory.django.DjangoModelFactory):
    """A requested referral (with its first event) of a new patient between two new hospitals."""

    class Meta:
        model = Referral
        skip_postgeneration_save = True

    patient = factory.SubFactory(UserFactory, role="user")
    from_hospital = factory.SubFactory(HospitalFactory)
    to_hospital = factory.SubFactory(HospitalFactory)
    reason = "Needs a specialist unit"
    bed_type = "icu"

    @factory.post_generation
    def requested_event(obj, create, extracted, **kwargs):
        if create:
            ReferralEvent.objects.create(referral=obj, status=Referral.Status.REQUESTED, note=obj.reason)
