"""Demo hospitals for `seed_demo`: two multi-level hospitals and one single-level nursing home.

Idempotent: every row is found by its natural key (registration number, floor number, ward name,
bed number) and created only when missing, so running it again changes nothing.
"""

from django.db import transaction

from hospitals.models import Bed, BedStatus, BedType, Floor, Hospital, Ward, WardType

# (floor_number, floor name, [(ward name, ward_number, ward_type, beds[, {bed index: bed type}])]);
# floor None = single-level. Bed types not given follow _bed_type().
DEMO_HOSPITALS = [
    {
        "hospital": {
            "registration_number": "DEMO-MH-PUNE-001",
            "name": "Deccan Multispeciality Hospital",
            "hospital_type": Hospital.HospitalType.PRIVATE,
            "address": "1204 Jangli Maharaj Road, Shivajinagar",
            "city": "Pune",
            "state": "Maharashtra",
            "country": "India",
            "postal_code": "411004",
            "phone": "+91-20-25530000",
            "email": "contact@deccan-hospital.example",
            "latitude": 18.5236,
            "longitude": 73.8478,
            "timezone": "Asia/Kolkata",
            "is_multi_level": True,
            "opd_status": Hospital.OpdStatus.OPEN,
            "emergency_services": True,
        },
        "floors": [
            ("G", "Ground floor: casualty", [("Casualty", "G-01", WardType.EMERGENCY, 6)]),
            (
                "1",
                "First floor: wards",
                [("General Ward A", "1-01", WardType.GENERAL, 8), ("Maternity", "1-02", WardType.MATERNITY, 6)],
            ),
            (
                "2",
                "Second floor: critical care",
                [("Medical ICU", "2-01", WardType.ICU, 6), ("NICU", "2-02", WardType.NICU, 4)],
            ),
        ],
    },
    {
        "hospital": {
            "registration_number": "DEMO-MH-MUM-002",
            "name": "Dadar Government General Hospital",
            "hospital_type": Hospital.HospitalType.GOVERNMENT,
            "address": "Dr Ambedkar Road, Dadar East",
            "city": "Mumbai",
            "state": "Maharashtra",
            "country": "India",
            "postal_code": "400014",
            "phone": "+91-22-24100000",
            "email": "info@dadar-ggh.example",
            "latitude": 19.0176,
            "longitude": 72.8562,
            "timezone": "Asia/Kolkata",
            "is_multi_level": True,
            "opd_status": Hospital.OpdStatus.OPEN,
            "emergency_services": True,
        },
        "floors": [
            (
                "1",
                "First floor",
                [("General Ward", "1-A", WardType.GENERAL, 10), ("Paediatrics", "1-B", WardType.PEDIATRIC, 6)],
            ),
            (
                "2",
                "Second floor",
                [("Surgical Ward", "2-A", WardType.SURGICAL, 6), ("Isolation", "2-B", WardType.ISOLATION, 4)],
            ),
            ("3", "Third floor", [("PICU", "3-A", WardType.PICU, 2), ("ICU", "3-B", WardType.ICU, 2)]),
        ],
    },
    {
        "hospital": {
            "registration_number": "DEMO-KA-BLR-003",
            "name": "Lalbagh Charitable Nursing Home",
            "hospital_type": Hospital.HospitalType.CHARITABLE,
            "address": "14 Lalbagh Fort Road, Basavanagudi",
            "city": "Bengaluru",
            "state": "Karnataka",
            "country": "India",
            "postal_code": "560004",
            "phone": "+91-80-26570000",
            "email": "care@lalbagh-nursing.example",
            "latitude": 12.9507,
            "longitude": 77.5848,
            "timezone": "Asia/Kolkata",
            "is_multi_level": False,
            "opd_status": Hospital.OpdStatus.LIMITED,
            "emergency_services": False,
        },
        "floors": [
            (
                None,
                "",
                [
                    ("General Ward", "GW", WardType.GENERAL, 6),
                    # High-dependency private rooms: the nursing home's ICU beds.
                    ("Private Rooms", "PR", WardType.PRIVATE, 4, {1: BedType.ICU, 3: BedType.ICU}),
                ],
            ),
        ],
    },
]

# A few beds start out of service so availability shows more than one status.
_STARTING_STATUS = {2: BedStatus.CLEANING, 5: BedStatus.MAINTENANCE}
_CRITICAL_CARE_WARDS = (WardType.ICU, WardType.NICU, WardType.PICU)
_WARD_BED_TYPES = {
    WardType.ISOLATION: BedType.ISOLATION,
    WardType.PEDIATRIC: BedType.PEDIATRIC,
    WardType.MATERNITY: BedType.MATERNITY,
}


def _bed_type(ward_type: str, index: int, bed_count: int) -> str:
    """ICU beds (the last of a larger unit on a ventilator) in critical care; oxygen at beds 1 and 3 of
    the other wards: every demo hospital has free ICU and oxygen beds."""
    if ward_type in _CRITICAL_CARE_WARDS:
        return BedType.VENTILATOR if index == bed_count > 2 else BedType.ICU
    if ward_type in _WARD_BED_TYPES:
        return _WARD_BED_TYPES[ward_type]
    return BedType.OXYGEN if index in (1, 3) else BedType.GENERAL


def _write(stdout, message: str) -> None:
    if stdout is not None:
        stdout.write(message + "\n")


@transaction.atomic
def seed_hospitals(*, stdout=None) -> list[Hospital]:
    """Create the demo hospitals, floors, wards and beds that are missing; return the three hospitals."""
    hospitals = []
    for spec in DEMO_HOSPITALS:
        values = dict(spec["hospital"])
        hospital, created = Hospital.objects.get_or_create(
            registration_number=values.pop("registration_number"), defaults=values
        )
        beds_created = 0
        for floor_number, floor_name, wards in spec["floors"]:
            floor = None
            if floor_number is not None:
                floor, _ = Floor.objects.get_or_create(
                    hospital=hospital, floor_number=floor_number, defaults={"name": floor_name}
                )
            for ward_name, ward_number, ward_type, bed_count, *bed_types in wards:
                ward, _ = Ward.objects.get_or_create(
                    hospital=hospital,
                    floor=floor,
                    name=ward_name,
                    defaults={"ward_number": ward_number, "ward_type": ward_type},
                )
                for index in range(1, bed_count + 1):
                    bed_type = (bed_types[0] if bed_types else {}).get(index) or _bed_type(ward_type, index, bed_count)
                    bed, bed_created = Bed.objects.get_or_create(
                        ward=ward,
                        bed_number=f"{ward_number}-{index:02d}",
                        defaults={
                            "hospital": hospital,
                            "bed_type": bed_type,
                            "status": _STARTING_STATUS.get(index, BedStatus.AVAILABLE),
                        },
                    )
                    beds_created += bed_created
                    if not bed_created and bed.bed_type == BedType.GENERAL != bed_type:
                        # Seeded before beds had types: give them theirs (a type set since is kept).
                        Bed.objects.filter(pk=bed.pk).update(bed_type=bed_type)
        _write(
            stdout,
            f"Hospital {hospital.name} ({hospital.city}, id {hospital.pk}): "
            f"{'created' if created else 'exists'}, {beds_created} beds added",
        )
        hospitals.append(hospital)
    return hospitals
