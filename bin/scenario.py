"""The set-up that bin/faults.py and bin/chaos.py share: a hospital, a doctor, roomy slots two days
ahead and patients with access tokens, made with the ORM (fast, and no throttle counts them)."""

import os
import sys
from datetime import UTC, datetime, timedelta


def booking_world(name: str, *, slots: int, patients: int) -> dict:
    """{"hospital", "slots" (ids), "tokens" (one per patient), "admin" (the bootstrap admin's token)}."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hms.settings")
    sys.path.insert(0, os.getcwd())
    import django

    django.setup()
    from django.db import connection

    from accounts.models import User
    from accounts.tokens import tokens_issue
    from appointments.models import Doctor, Slot
    from hospitals.models import Hospital

    lower = name.lower()
    hospital = Hospital.objects.create(name=f"{name} General", registration_number=f"{name.upper()}-1", city="Pune")
    doctor_user = User.objects.create(
        username=f"{lower}doc", fullname=f"{name} Doc", role=User.Role.DOCTOR, hospital=hospital
    )
    doctor = Doctor.objects.create(
        user=doctor_user, hospital=hospital, specialization="GP", license_number=f"{name[0]}-1"
    )
    start = (datetime.now(UTC) + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    slot_ids = [
        Slot.objects.create(
            hospital=hospital,
            doctor=doctor,
            start=start + timedelta(minutes=15 * n),
            end=start + timedelta(minutes=15 * (n + 1)),
            local_date=start.date(),
            capacity=500,
        ).pk
        for n in range(slots)
    ]
    people = [
        User.objects.create(username=f"{lower}patient{n}", fullname=f"P {n}", role=User.Role.USER)
        for n in range(patients)
    ]
    admin = User.objects.get(username=os.environ["ADMIN_USERNAME"])
    world = {
        "hospital": hospital.pk,
        "slots": slot_ids,
        "tokens": [tokens_issue(user=person)["access"] for person in people],
        "admin": tokens_issue(user=admin)["access"],
    }
    connection.close()
    return world
