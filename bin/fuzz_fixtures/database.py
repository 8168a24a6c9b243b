"""Records written with the ORM, where no API call makes them: the first accounts (before the bootstrap admin),
the victims of the fuzzer's deactivations, notifications, and slots that have started."""

import datetime

from fuzz_fixtures.base import COPIES, VICTIM_IDS


def accounts() -> None:
    """The first accounts, made before the bootstrap admin and seed_demo: the fuzz patient is user 1 and a
    donor user 2. The fuzzer's coverage phase sends a body's smallest ids (1 and 2) in patient_id (a hold,
    a waitlist entry, a referral, an admission) and donor_id (a donation), and seed-ids (1..7) name them
    too. More patients, for one open referral and one waitlist entry each, come after."""
    from accounts.models import User

    User.objects.get_or_create(
        username="fuzzpatient",
        defaults={"fullname": "Fuzz Patient", "email": "fuzzpatient@example.org", "role": User.Role.USER},
    )
    User.objects.get_or_create(
        username="fuzzdonor",
        defaults={"fullname": "Fuzz Donor", "email": "fuzzdonor@example.org", "role": "donor", "blood_group": "O+"},
    )
    for number in range(1, COPIES + 1):
        User.objects.get_or_create(
            username=f"fuzzpatient{number}",
            defaults={"fullname": f"Fuzz Patient {number}", "email": f"fuzzpatient{number}@example.org"},
        )


def victims() -> None:
    """Hospitals, users and blood banks for the fuzzer's DELETEs (a deactivation) to take, with fixed ids far
    above the run's own (the sequences never reach them): deactivating seed_demo's hospital 1 or user 2
    early in the run turned every later request naming them into a 400 (issue 22)."""
    from accounts.models import User
    from bloodbank.models import BloodBank
    from hospitals.models import Hospital

    for number, pk in enumerate(VICTIM_IDS, start=1):
        Hospital.objects.get_or_create(
            pk=pk, defaults={"name": f"Fuzz Victim Hospital {number}", "registration_number": f"FUZZ-VICTIM-{number}"}
        )
        User.objects.get_or_create(
            pk=pk,
            defaults={
                "username": f"fuzzvictim{number}",
                "fullname": f"Fuzz Victim {number}",
                "email": f"fuzzvictim{number}@example.org",
                # Staff (of a victim hospital): a rewrite naming a hospital is then valid (an account that is no
                # staff's belongs to none, 400 invalid on hospital_id, and most generated rewrites named one).
                "role": "ambulance_driver",
                "hospital_id": pk,
            },
        )
        BloodBank.objects.get_or_create(
            pk=pk,
            defaults={
                "name": f"Fuzz Victim Bank {number}",
                "license_number": f"FUZZ-VICTIM-{number}",
                "hospital_id": pk,
            },
        )


def notifications_for(username: str, copies: int = COPIES) -> list[int]:
    """`copies` notifications in the user's inbox (what the feed consumer would write after events): their ids."""
    from django.db import transaction

    from accounts.models import User
    from notifications.models import Category
    from notifications.services import Spec, notifications_create

    user = User.objects.get(username=username)
    specs = [
        Spec(
            key=f"fuzz:{username}:{number}",
            user_id=user.pk,
            category=Category.BLOOD,
            event="stock.low",
            context={"bank_name": "Fuzz bank", "component": "Whole blood", "blood_group": "O+", "units": 1},
            data={"blood_bank_id": 1},
        )
        for number in range(1, copies + 1)
    ]
    with transaction.atomic():
        return sorted(notification.pk for notification in notifications_create(specs))


def start_slots_of(appointment_ids: list[int]) -> None:
    """The appointments' slots started an hour or so ago (a no-show needs a started slot, and a booking needs
    one ahead: no API call can make this state)."""
    from django.utils import timezone

    from appointments.models import Appointment
    from appointments.slot_models import Slot

    now = timezone.now()
    for number, appointment in enumerate(Appointment.objects.filter(pk__in=appointment_ids).order_by("pk")):
        start = now - datetime.timedelta(hours=1, minutes=number)
        Slot.objects.filter(pk=appointment.slot_id).update(
            start=start, end=start + datetime.timedelta(minutes=15), local_date=timezone.localdate(start)
        )
