"""Demo ambulances and drivers, called by the seed_demo command. Idempotent: running it again changes nothing."""

from django.db import transaction

from accounts.models import User
from emergency.models import Ambulance

DRIVER_USERNAME = "driver"
DRIVER_PASSWORD = "Driver-Pass-2026"
AMBULANCES_PER_HOSPITAL = 2
# Parked a few hundred metres from the hospital, one step further each.
OFFSET_DEGREES = 0.004


def _driver(*, username: str, hospital, index: int) -> User:
    driver = User.objects.filter(username__iexact=username).first()
    if driver is None:
        driver = User(
            username=username,
            email=f"{username}@hms.local",
            fullname=f"Demo Driver {index + 1}",
            phone_num=f"+91 90000 {index + 1:05d}",
            role=User.Role.AMBULANCE_DRIVER,
            hospital=hospital,
        )
        driver.set_password(DRIVER_PASSWORD)
        driver.save()
    return driver


@transaction.atomic
def seed_emergency(*, hospitals, stdout=None) -> list[Ambulance]:
    """Two ambulances per hospital near it; the first has a driver (`driver` at hospitals[0], then driver2...)."""
    ambulances = []
    for index, hospital in enumerate(hospitals):
        username = DRIVER_USERNAME if index == 0 else f"{DRIVER_USERNAME}{index + 1}"
        driver = _driver(username=username, hospital=hospital, index=index)
        usable_driver = (
            driver if driver.role == User.Role.AMBULANCE_DRIVER and driver.hospital_id == hospital.pk else None
        )
        for number in range(AMBULANCES_PER_HOSPITAL):
            position = {}
            if hospital.latitude is not None and hospital.longitude is not None:
                step = OFFSET_DEGREES * (number + 1)
                position = {
                    "latitude": max(-90.0, min(90.0, hospital.latitude + step)),
                    "longitude": max(-180.0, min(180.0, hospital.longitude + step)),
                }
            ambulance, created = Ambulance.objects.get_or_create(
                vehicle_number=f"DEMO-{hospital.pk:04d}-{number + 1}",
                defaults={
                    "hospital": hospital,
                    "ambulance_type": Ambulance.AmbulanceType.ADVANCED
                    if number == 0
                    else Ambulance.AmbulanceType.BASIC,
                    "driver": usable_driver if number == 0 else None,
                    **position,
                },
            )
            if created and position:
                ambulance.location_updated_at = ambulance.created_at
                ambulance.save(update_fields=["location_updated_at"])
                ambulance.locations.create(recorded_at=ambulance.created_at, **position)
            ambulances.append(ambulance)
        if stdout is not None and index == 0:
            stdout.write(f"  ambulance driver: {username} / {DRIVER_PASSWORD} ({hospital.name})")
    if stdout is not None:
        stdout.write(f"  ambulances: {len(ambulances)} across {len(hospitals)} hospitals")
    return ambulances
