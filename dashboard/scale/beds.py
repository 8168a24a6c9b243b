"""Benchmark hospitals' floors, wards, beds and admissions."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import TYPE_CHECKING

from dashboard.scale.bulk import bulk, weighted
from hospitals.models import Admission, Bed, BedStatus, BedType, Floor, Hospital, Ward, WardType

if TYPE_CHECKING:
    from dashboard.scale import BenchData

# Ward layout of a benchmark hospital: (ward_type, share of its beds, what the beds of the ward can do,
# in turn by their place in the ward). The first of each cycle is there even in the smallest benchmark
# hospital: every one has ICU and oxygen beds.
WARD_MIX = [
    (WardType.GENERAL, 0.4, (BedType.OXYGEN, BedType.GENERAL, BedType.GENERAL, BedType.GENERAL, BedType.ISOLATION)),
    (WardType.ICU, 0.1, (BedType.ICU, BedType.ICU, BedType.VENTILATOR)),
    (WardType.EMERGENCY, 0.1, (BedType.OXYGEN, BedType.HDU)),
    (WardType.MATERNITY, 0.1, (BedType.MATERNITY,)),
    (WardType.PEDIATRIC, 0.1, (BedType.PEDIATRIC, BedType.PEDIATRIC, BedType.OXYGEN)),
    (WardType.SURGICAL, 0.1, (BedType.GENERAL, BedType.HDU)),
    (WardType.PRIVATE, 0.1, (BedType.GENERAL,)),
]
BED_STATUS_WEIGHTS = [
    (BedStatus.AVAILABLE, 55),
    (BedStatus.OCCUPIED, 30),
    (BedStatus.RESERVED, 5),
    (BedStatus.CLEANING, 5),
    (BedStatus.MAINTENANCE, 5),
]


def write_beds(bench: BenchData, hospital: Hospital, rng: random.Random) -> None:
    """Floors (in a multi-level hospital), one ward per WARD_MIX entry, the beds by share, type and
    status, and an active walk-in admission in every occupied bed."""
    floors = []
    if hospital.is_multi_level:
        floors = bulk(
            Floor,
            [Floor(hospital=hospital, floor_number=str(level), name=f"Floor {level}") for level in range(1, 5)],
        )
    wards = bulk(
        Ward,
        [
            Ward(
                hospital=hospital,
                floor=floors[index % len(floors)] if floors else None,
                name=f"{ward_type.label} ward",
                ward_number=f"W{index + 1:02d}",
                ward_type=ward_type,
            )
            for index, (ward_type, _share, _cycle) in enumerate(WARD_MIX)
        ],
    )
    beds, placed = [], dict.fromkeys(range(len(wards)), 0)
    for index in range(bench.beds):
        ward_position = ward_index(index, bench.beds)
        ward, cycle = wards[ward_position], WARD_MIX[ward_position][2]
        beds.append(
            Bed(
                ward=ward,
                hospital=hospital,
                bed_number=f"{ward.ward_number}-{index + 1:03d}",
                bed_type=cycle[placed[ward_position] % len(cycle)],
                status=weighted(rng, BED_STATUS_WEIGHTS),
            )
        )
        placed[ward_position] += 1
    beds = bulk(Bed, beds)
    # Every occupied bed holds one active admission (a walk-in known by name).
    bulk(
        Admission,
        [
            Admission(
                bed=bed,
                hospital=hospital,
                patient_name=f"Inpatient {hospital.pk}-{bed.bed_number}",
                reason="Observation",
                admitted_at=bench.now - timedelta(hours=rng.randint(1, 240)),
            )
            for bed in beds
            if bed.status == BedStatus.OCCUPIED
        ],
    )


def ward_index(bed_index: int, beds: int) -> int:
    """Which ward of WARD_MIX the n-th bed goes to (by the ward shares)."""
    position, total = (bed_index + 0.5) / beds, 0.0
    for index, (_ward_type, share, _cycle) in enumerate(WARD_MIX):
        total += share
        if position < total:
            return index
    return len(WARD_MIX) - 1
