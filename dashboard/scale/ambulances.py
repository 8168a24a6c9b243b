"""Benchmark hospitals' ambulances and open emergencies."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from dashboard.scale.bulk import bulk
from emergency.models import Ambulance, Emergency, EmergencyEvent

if TYPE_CHECKING:
    from accounts.models import User
    from dashboard.scale import BenchData
    from hospitals.models import Hospital


def write_ambulances(bench: BenchData, hospital: Hospital, tag: str, driver: User, rng: random.Random) -> None:
    """Two ambulances (the first driven by `driver`) and two reported emergencies with their first event."""
    bulk(
        Ambulance,
        [
            Ambulance(
                hospital=hospital,
                vehicle_number=f"BENCH-{tag.upper()}-{number}",
                ambulance_type=Ambulance.AmbulanceType.ADVANCED if number == 1 else Ambulance.AmbulanceType.BASIC,
                driver=driver if number == 1 else None,
                latitude=hospital.latitude,
                longitude=hospital.longitude,
                location_updated_at=bench.now,
            )
            for number in (1, 2)
        ],
    )
    # Two open (reported) emergencies per hospital, each with its first event.
    emergencies = bulk(
        Emergency,
        [
            Emergency(
                patient_name=f"Caller {hospital.pk}-{index}",
                contact_number=f"+91 90000 {hospital.pk % 100000:05d}",
                emergency_type=rng.choice(Emergency.EmergencyType.values),
                severity=rng.choice(Emergency.Severity.values),
                address=f"Near {hospital.address}",
                latitude=hospital.latitude,
                longitude=hospital.longitude,
                hospital=hospital,
            )
            for index in (1, 2)
        ],
    )
    bulk(
        EmergencyEvent,
        [
            EmergencyEvent(emergency=emergency, at=bench.now, status=Emergency.Status.REPORTED)
            for emergency in emergencies
        ],
    )
