"""Benchmark-sized data for `python manage.py seed_demo --scale N` (bench/ runs against it).

At scale N (N=1: about 100 hospitals, 10,000 beds, 1,000 doctors, 1,000,000 slots, 100,000
appointments, 50,000 stock lots, 10,000 patients), `BENCH-` data is written with
bulk inserts (COPY on PostgreSQL). Each benchmark hospital is written with everything that hangs off
it in one transaction and found again by its registration number, so a rerun (or a larger scale
later) adds only what is missing. Every row satisfies the models' constraints: a slot's `booked` is
its number of non-cancelled appointments, `last_token` its highest token, tokens are unique per slot.

`BenchData` writes each hospital; the modules beside it write what hangs off one: beds, OPD,
blood bank, ambulances.
"""

import random
import time as clock
from zoneinfo import ZoneInfo

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import BloodGroup, User
from appointments.models import Appointment, Doctor, Slot
from bloodbank.models import StockLot
from dashboard.scale.ambulances import write_ambulances
from dashboard.scale.beds import write_beds
from dashboard.scale.blood import write_blood_bank
from dashboard.scale.bulk import bulk
from dashboard.scale.opd import SLOT_CAPACITY, write_opd
from hospitals.models import Bed, Hospital

# --- Sizes at --scale 1 ---------------------------------------------------------------------------
BENCH_PREFIX = "BENCH-"
BENCH_PASSWORD = "Bench-Pass-2026"  # every bench account shares it (hashed once, not 11,000 times)
FULL = {
    "hospitals": 100,
    "beds": 100,  # per hospital
    "doctors": 10,  # per hospital
    "slots": 10_000,  # per hospital
    "appointments": 1_000,  # per hospital
    "lots": 500,  # per hospital (one blood bank each)
    "patients": 10_000,  # in all
}
BENCH_ZONE = "Asia/Kolkata"
# Hospitals are grouped around these cities (a `near` search finds a handful, as in real use).
CITIES = [
    ("Pune", "Maharashtra", 18.5204, 73.8567),
    ("Mumbai", "Maharashtra", 19.0760, 72.8777),
    ("Bengaluru", "Karnataka", 12.9716, 77.5946),
    ("Chennai", "Tamil Nadu", 13.0827, 80.2707),
    ("Hyderabad", "Telangana", 17.3850, 78.4867),
    ("Delhi", "Delhi", 28.6139, 77.2090),
    ("Kolkata", "West Bengal", 22.5726, 88.3639),
    ("Ahmedabad", "Gujarat", 23.0225, 72.5714),
    ("Jaipur", "Rajasthan", 26.9124, 75.7873),
    ("Lucknow", "Uttar Pradesh", 26.8467, 80.9462),
    ("Kochi", "Kerala", 9.9312, 76.2673),
    ("Bhopal", "Madhya Pradesh", 23.2599, 77.4126),
    ("Nagpur", "Maharashtra", 21.1458, 79.0882),
    ("Patna", "Bihar", 25.5941, 85.1376),
    ("Chandigarh", "Chandigarh", 30.7333, 76.7794),
    ("Guwahati", "Assam", 26.1445, 91.7362),
    ("Bhubaneswar", "Odisha", 20.2961, 85.8245),
    ("Indore", "Madhya Pradesh", 22.7196, 75.8577),
    ("Coimbatore", "Tamil Nadu", 11.0168, 76.9558),
    ("Visakhapatnam", "Andhra Pradesh", 17.6868, 83.2185),
]


class BenchData:
    """Writes `BENCH-` hospitals with everything hanging off them, one transaction per hospital."""

    def __init__(self, *, scale: float, out):
        self.scale = scale
        self.out = out
        self.hospitals = max(1, round(FULL["hospitals"] * scale))
        # The scale is the number of hospitals, each of full size; below one hospital (scale < 0.01) that
        # one hospital shrinks, and its keys say so (so it never passes for a full-size one).
        factor = min(1.0, FULL["hospitals"] * scale)
        self.size_tag = "" if factor == 1 else f"-S{round(factor * 1000):03d}"
        self.beds = max(2, round(FULL["beds"] * factor))
        self.doctors = max(1, round(FULL["doctors"] * factor))
        self.slots_per_doctor = max(SLOT_CAPACITY, round(FULL["slots"] * factor / self.doctors))
        self.appointments = max(1, round(FULL["appointments"] * factor))
        self.lots = max(1, round(FULL["lots"] * factor))
        self.patients = max(10, round(FULL["patients"] * scale))
        self.password = make_password(BENCH_PASSWORD)
        self.now = timezone.now()
        self.zone = ZoneInfo(BENCH_ZONE)
        self.today = self.now.astimezone(self.zone).date()

    def say(self, message: str) -> None:
        self.out.write(message)
        if hasattr(self.out, "flush"):
            self.out.flush()

    def write(self) -> None:
        self.say(
            f"Benchmark data at scale {self.scale:g}: {self.hospitals} hospitals x ({self.beds} beds, "
            f"{self.doctors} doctors, {self.doctors * self.slots_per_doctor} slots, {self.appointments} "
            f"appointments, {self.lots} stock lots); {self.patients} patients"
        )
        patient_ids = self.ensure_patients()
        existing = set(
            Hospital.objects.filter(registration_number__startswith=BENCH_PREFIX).values_list(
                "registration_number", flat=True
            )
        )
        todo = [number for number in range(1, self.hospitals + 1) if self.registration(number) not in existing]
        if not todo:
            self.say(f"  all {self.hospitals} benchmark hospitals exist already: nothing to add")
            return
        self.say(f"  {len(todo)} hospitals to write ({self.hospitals - len(todo)} exist already)")
        started = clock.monotonic()
        step = max(1, len(todo) // 20)
        for done, number in enumerate(todo, start=1):
            self.write_hospital(number, patient_ids)
            if done % step == 0 or done == len(todo):
                elapsed = clock.monotonic() - started
                eta = elapsed / done * (len(todo) - done)
                self.say(f"  hospitals {done}/{len(todo)}  {elapsed:.0f}s elapsed, about {eta:.0f}s left")
        self.analyze()

    def key(self, number: int) -> str:
        """`H0001` (full size) or `H0001-S100` (a hospital shrunk to 100/1000): in every natural key."""
        return f"H{number:04d}{self.size_tag}"

    def registration(self, number: int) -> str:
        return f"{BENCH_PREFIX}{self.key(number)}"

    # --- Patients --------------------------------------------------------------------------------

    def ensure_patients(self) -> list[int]:
        names = [f"bench.p{index:06d}" for index in range(1, self.patients + 1)]
        have = set(User.objects.filter(username__startswith="bench.p").values_list("username", flat=True))
        missing = [name for name in names if name not in have]
        if missing:
            self.say(f"  patients: writing {len(missing)}")
            groups = BloodGroup.values
            bulk(
                User,
                [
                    User(
                        username=name,
                        email=f"{name}@bench.hms.local",
                        fullname=f"Bench Patient {name[7:]}",
                        role=User.Role.USER,
                        blood_group=groups[index % len(groups)],
                        password=self.password,
                    )
                    for index, name in enumerate(missing)
                ],
            )
        ids = dict(User.objects.filter(username__in=names).values_list("username", "id"))
        return [ids[name] for name in names]

    # --- One hospital ----------------------------------------------------------------------------

    @transaction.atomic
    def write_hospital(self, number: int, patient_ids: list[int]) -> None:
        rng = random.Random(number)
        city, state, lat, lng = CITIES[(number - 1) % len(CITIES)]
        hospital = Hospital.objects.create(
            registration_number=self.registration(number),
            name=f"Bench {city} Hospital {number}",
            hospital_type=rng.choice(Hospital.HospitalType.values),
            address=f"{number} Hospital Road",
            city=city,
            state=state,
            country="India",
            postal_code=f"{400000 + number}",
            phone=f"+91-20-{number:08d}",
            email=f"h{number:04d}@bench.hms.local",
            latitude=round(lat + rng.uniform(-0.12, 0.12), 6),
            longitude=round(lng + rng.uniform(-0.12, 0.12), 6),
            timezone=BENCH_ZONE,
            is_multi_level=number % 5 != 0,
            opd_status=Hospital.OpdStatus.LIMITED if number % 20 == 0 else Hospital.OpdStatus.OPEN,
            emergency_services=number % 3 != 0,
        )
        tag = self.key(number).lower().replace("-", ".")

        def member(handle: str, fullname: str, role: str) -> User:
            return User(
                username=f"bench.{tag}.{handle}",
                email=f"{tag}.{handle}@bench.hms.local",
                fullname=fullname,
                role=role,
                hospital=hospital,
                password=self.password,
            )

        staff = {
            "admin": member("admin", f"Bench Admin {number}", User.Role.HOSPITAL_ADMIN),
            "driver": member("driver", f"Bench Driver {number}", User.Role.AMBULANCE_DRIVER),
        }
        doctor_users = [
            member(f"d{index:03d}", f"Dr. Bench {number}-{index}", User.Role.DOCTOR)
            for index in range(1, self.doctors + 1)
        ]
        bulk(User, [*staff.values(), *doctor_users])
        write_beds(self, hospital, rng)
        write_opd(self, hospital, tag, doctor_users, patient_ids, rng)
        write_blood_bank(self, hospital, tag, rng)
        write_ambulances(self, hospital, tag, staff["driver"], rng)

    def analyze(self) -> None:
        """Fresh planner statistics (and a visibility map for index-only scans) after a bulk load."""
        if connection.vendor != "postgresql":
            return
        tables = [model._meta.db_table for model in (User, Bed, Slot, Appointment, StockLot, Hospital, Doctor)]
        with connection.cursor() as cursor:
            for table in tables:
                # VACUUM cannot run inside a transaction (e.g. a test's); ANALYZE can.
                command = "ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE"
                cursor.execute(f"{command} {connection.ops.quote_name(table)}")
        self.say("  planner statistics refreshed")
