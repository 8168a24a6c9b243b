"""`python manage.py seed_demo [--scale N]`: the demo world, and benchmark-sized data on request.

Without `--scale`: the demo hospitals, doctors, slots, blood banks and ambulances of every app's
`demo.py`, one account per role, and a table of the logins at the end. Idempotent: every row is
found by its natural key first; an existing account's password is never changed.

With `--scale N` (N=1: about 100 hospitals, 10,000 beds, 1,000 doctors, 1,000,000 slots, 100,000
appointments, 50,000 stock lots, 10,000 patients), the demo world plus `BENCH-` data written with
bulk inserts (COPY on PostgreSQL). Each benchmark hospital is written with everything that hangs off
it in one transaction and found again by its registration number, so a rerun (or a larger scale
later) adds only what is missing. Every row satisfies the models' constraints: a slot's `booked` is
its number of non-cancelled appointments, `last_token` its highest token, tokens are unique per slot.
"""

import math
import random
import time as clock
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import BloodGroup, User
from appointments import services as appointment_services
from appointments.demo import DOCTOR_PASSWORD, seed_appointments
from appointments.models import Appointment, Doctor, OpdSchedule, Slot
from bloodbank.compatibility import SHELF_LIFE_DAYS
from bloodbank.demo import DONOR_PASSWORD, DONOR_USERNAME, seed_bloodbank
from bloodbank.models import BloodBank, Component, StockLot
from emergency.demo import DRIVER_PASSWORD, DRIVER_USERNAME, seed_emergency
from emergency.models import Ambulance, Emergency, EmergencyEvent
from hms.api.readcache import writes_committed
from hospitals.demo import seed_hospitals
from hospitals.models import Admission, Bed, BedStatus, Floor, Hospital, Ward, WardType

ADMIN_DEMO_USERNAME = "admin"
ADMIN_DEMO_PASSWORD = "Admin-Pass-2026"
HOSPITAL_ADMIN_USERNAME = "hospital_admin"
HOSPITAL_ADMIN_PASSWORD = "Hospital-Pass-2026"
PATIENT_USERNAME = "patient"
PATIENT_PASSWORD = "Patient-Pass-2026"

# --- Benchmark data: sizes at --scale 1 ---------------------------------------------------------
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
SLOT_MINUTES = 20
SLOT_CAPACITY = 4
OPD_START, OPD_END = time(9), time(17)
DAYS_BACK = 7  # a week of past slots (completed and no-show appointments), the rest ahead
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
SPECIALIZATIONS = [
    ("General Medicine", "Medicine"),
    ("Cardiology", "Cardiology"),
    ("Pediatrics", "Pediatrics"),
    ("Orthopedics", "Orthopedics"),
    ("Dermatology", "Dermatology"),
    ("Gynecology", "Obstetrics and Gynecology"),
    ("ENT", "ENT"),
    ("Ophthalmology", "Ophthalmology"),
    ("Neurology", "Neurology"),
    ("Psychiatry", "Psychiatry"),
]
# Ward layout of a benchmark hospital: (ward_type, share of its beds).
WARD_MIX = [
    (WardType.GENERAL, 0.4),
    (WardType.ICU, 0.1),
    (WardType.EMERGENCY, 0.1),
    (WardType.MATERNITY, 0.1),
    (WardType.PEDIATRIC, 0.1),
    (WardType.SURGICAL, 0.1),
    (WardType.PRIVATE, 0.1),
]
BED_STATUS_WEIGHTS = [
    (BedStatus.AVAILABLE, 55),
    (BedStatus.OCCUPIED, 30),
    (BedStatus.RESERVED, 5),
    (BedStatus.CLEANING, 5),
    (BedStatus.MAINTENANCE, 5),
]
GROUP_WEIGHTS = {"O+": 37, "B+": 32, "A+": 22, "AB+": 7, "O-": 1, "A-": 0.5, "B-": 0.5, "AB-": 0.2}


class Command(BaseCommand):
    help = (
        "Idempotent demo data (hospitals, beds, doctors, slots, blood banks, ambulances, one account per "
        "role); prints the logins. --scale N adds benchmark-sized data (N=1: 100 hospitals, 1,000,000 slots)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--scale",
            type=float,
            default=None,
            help="Also write benchmark data at this scale (0 < N <= 10; 1: 100 hospitals, 1M slots).",
        )

    def handle(self, *args, scale=None, **options):
        if scale is not None and not (math.isfinite(scale) and 0 < scale <= 10):
            raise CommandError("--scale must be a number above 0 and at most 10.")
        started = clock.monotonic()
        logins = self.seed_world()
        if scale is not None:
            BenchData(scale=scale, out=self.stdout).write()
        writes_committed()  # bulk inserts send no post_save: cached dashboards are invalidated here
        self.print_logins(logins)
        self.stdout.write(f"seed_demo done in {clock.monotonic() - started:.1f}s")

    # --- The demo world ---------------------------------------------------------------------------

    def seed_world(self) -> list[tuple[str, str, str]]:
        out = self.stdout
        out.write("Hospitals, floors, wards, beds")
        hospitals = seed_hospitals(stdout=out)
        out.write("Doctors, OPD schedules, slots")
        seed_appointments(hospitals=hospitals, stdout=out)
        out.write("Blood banks and stock")
        seed_bloodbank(hospitals=hospitals, stdout=out)
        out.write("Ambulances and drivers")
        seed_emergency(hospitals=hospitals, stdout=out)
        out.write("Accounts")
        admin = self._admin_account()
        hospital_admin = self._account(
            HOSPITAL_ADMIN_USERNAME,
            HOSPITAL_ADMIN_PASSWORD,
            role=User.Role.HOSPITAL_ADMIN,
            fullname="Demo Hospital Admin",
            hospital=hospitals[0],
        )
        patient = self._account(
            PATIENT_USERNAME,
            PATIENT_PASSWORD,
            role=User.Role.USER,
            fullname="Demo Patient",
            blood_group=BloodGroup.B_POS,
            phone_num="+91 98000 00001",
        )
        if patient is not None and patient.role == User.Role.USER:
            self._book_demo_appointment(patient)
        wanted = [
            (admin, ADMIN_DEMO_PASSWORD),
            (hospital_admin, HOSPITAL_ADMIN_PASSWORD),
            (User.objects.filter(username__iexact="doctor").first(), DOCTOR_PASSWORD),
            (patient, PATIENT_PASSWORD),
            (User.objects.filter(username__iexact=DONOR_USERNAME).first(), DONOR_PASSWORD),
            (User.objects.filter(username__iexact=DRIVER_USERNAME).first(), DRIVER_PASSWORD),
        ]
        return [(user.username, self._shown_password(user, password), user.role) for user, password in wanted if user]

    def _admin_account(self) -> User:
        """The bootstrap admin (ADMIN_* settings) when it exists, else `admin` / Admin-Pass-2026."""
        configured = settings.ADMIN_USERNAME or ADMIN_DEMO_USERNAME
        for username in dict.fromkeys([configured, ADMIN_DEMO_USERNAME]):
            user = User.objects.filter(username__iexact=username).first()
            if user is not None and user.role == User.Role.ADMIN:
                return user
        if User.objects.filter(username__iexact=ADMIN_DEMO_USERNAME).exists():
            raise CommandError(f"The username {ADMIN_DEMO_USERNAME!r} belongs to a non-admin account.")
        email = "admin@hms.local"
        if User.objects.filter(email__iexact=email).exists():
            email = ""
        self.stdout.write(f"  created admin account {ADMIN_DEMO_USERNAME}")
        return User.objects.create_superuser(
            username=ADMIN_DEMO_USERNAME,
            email=email,
            password=ADMIN_DEMO_PASSWORD,
            fullname="Administrator",
            role=User.Role.ADMIN,
        )

    def _account(self, username: str, password: str, *, role: str, fullname: str, **fields) -> User | None:
        """Create the account when the username is free; an existing one is left exactly as it is."""
        user = User.objects.filter(username__iexact=username).first()
        if user is not None:
            if user.role != role:
                self.stdout.write(f"  skipped {username}: that username belongs to a {user.role} account")
            return user
        email = f"{username.replace('_', '-')}@hms.local"
        user = User(
            username=username,
            fullname=fullname,
            email="" if User.objects.filter(email__iexact=email).exists() else email,
            role=role,
            **fields,
        )
        user.set_password(password)
        user.save()
        self.stdout.write(f"  created {role} account {username}")
        return user

    def _book_demo_appointment(self, patient: User) -> None:
        """One upcoming booking for the demo patient (only while it has none), so its dashboard shows one."""
        if Appointment.objects.filter(patient=patient).exists():
            return
        slot = (
            Slot.objects.bookable()
            .filter(doctor__user__username__iexact="doctor")
            .order_by("start", "id")
            .values_list("pk", flat=True)
            .first()
        )
        if slot is None:
            return
        appointment_services.appointment_book(request=None, by=patient, slot_id=slot, reason="Annual check-up")
        self.stdout.write("  booked one appointment for the demo patient")

    @staticmethod
    def _shown_password(user: User, demo_password: str) -> str:
        """The demo password while it still opens the account (checked without re-saving anything)."""
        if check_password(demo_password, user.password):
            return demo_password
        if user.role == User.Role.ADMIN and settings.ADMIN_PASSWORD:
            return "(ADMIN_PASSWORD)"
        return "(changed; not shown)"

    def print_logins(self, logins: list[tuple[str, str, str]]) -> None:
        widths = [max(len(row[i]) for row in [("username", "password", "role"), *logins]) for i in range(3)]
        line = "  ".join("-" * width for width in widths)
        self.stdout.write("")
        self.stdout.write("Demo logins (POST /auth/login with username and password):")
        self.stdout.write(
            "  ".join(
                title.ljust(width) for title, width in zip(("username", "password", "role"), widths, strict=True)
            ).rstrip()
        )
        self.stdout.write(line)
        for row in logins:
            self.stdout.write("  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)).rstrip())
        self.stdout.write("")


# --- Benchmark-sized data -----------------------------------------------------------------------


def _weighted(rng: random.Random, weights) -> str:
    values, shares = zip(*weights, strict=True)
    return rng.choices(values, weights=shares)[0]


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
            _bulk(
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
        staff = {
            "admin": User(
                username=f"bench.{tag}.admin",
                email=f"{tag}.admin@bench.hms.local",
                fullname=f"Bench Admin {number}",
                role=User.Role.HOSPITAL_ADMIN,
                hospital=hospital,
                password=self.password,
            ),
            "driver": User(
                username=f"bench.{tag}.driver",
                email=f"{tag}.driver@bench.hms.local",
                fullname=f"Bench Driver {number}",
                role=User.Role.AMBULANCE_DRIVER,
                hospital=hospital,
                password=self.password,
            ),
        }
        doctor_users = [
            User(
                username=f"bench.{tag}.d{index:03d}",
                email=f"{tag}.d{index:03d}@bench.hms.local",
                fullname=f"Dr. Bench {number}-{index}",
                role=User.Role.DOCTOR,
                hospital=hospital,
                password=self.password,
            )
            for index in range(1, self.doctors + 1)
        ]
        _bulk(User, [*staff.values(), *doctor_users])
        self.write_beds(hospital, rng)
        self.write_opd(hospital, tag, doctor_users, patient_ids, rng)
        self.write_blood_bank(hospital, tag, rng)
        self.write_ambulances(hospital, tag, staff["driver"], rng)

    def write_beds(self, hospital: Hospital, rng: random.Random) -> None:
        floors = []
        if hospital.is_multi_level:
            floors = _bulk(
                Floor,
                [Floor(hospital=hospital, floor_number=str(level), name=f"Floor {level}") for level in range(1, 5)],
            )
        wards = _bulk(
            Ward,
            [
                Ward(
                    hospital=hospital,
                    floor=floors[index % len(floors)] if floors else None,
                    name=f"{ward_type.label} ward",
                    ward_number=f"W{index + 1:02d}",
                    ward_type=ward_type,
                )
                for index, (ward_type, _share) in enumerate(WARD_MIX)
            ],
        )
        beds = []
        for index in range(self.beds):
            ward = wards[_ward_index(index, self.beds)]
            beds.append(
                Bed(
                    ward=ward,
                    hospital=hospital,
                    bed_number=f"{ward.ward_number}-{index + 1:03d}",
                    status=_weighted(rng, BED_STATUS_WEIGHTS),
                )
            )
        beds = _bulk(Bed, beds)
        # Every occupied bed holds one active admission (a walk-in known by name).
        _bulk(
            Admission,
            [
                Admission(
                    bed=bed,
                    hospital=hospital,
                    patient_name=f"Inpatient {hospital.pk}-{bed.bed_number}",
                    reason="Observation",
                    admitted_at=self.now - timedelta(hours=rng.randint(1, 240)),
                )
                for bed in beds
                if bed.status == BedStatus.OCCUPIED
            ],
        )

    def write_opd(self, hospital, tag, doctor_users, patient_ids, rng: random.Random) -> None:
        doctors = _bulk(
            Doctor,
            [
                Doctor(
                    user=user,
                    hospital=hospital,
                    specialization=SPECIALIZATIONS[index % len(SPECIALIZATIONS)][0],
                    department=SPECIALIZATIONS[index % len(SPECIALIZATIONS)][1],
                    qualification="MBBS, MD",
                    license_number=f"BENCH-{tag.upper()}-D{index + 1:03d}",
                    experience_years=rng.randint(1, 35),
                    consultation_fee=rng.choice([300, 500, 800, 1200]),
                )
                for index, user in enumerate(doctor_users)
            ],
        )
        first_day = self.today - timedelta(days=DAYS_BACK)
        schedules = _bulk(
            OpdSchedule,
            [
                OpdSchedule(
                    hospital=hospital,
                    doctor=doctor,
                    department=doctor.department,
                    weekdays=[0, 1, 2, 3, 4, 5],
                    start_time=OPD_START,
                    end_time=OPD_END,
                    slot_minutes=SLOT_MINUTES,
                    capacity_per_slot=SLOT_CAPACITY,
                    valid_from=first_day,
                )
                for doctor in doctors
            ],
        )
        starts = self.slot_starts(first_day)
        # The booking plan first, so each slot is written with its final `booked` and `last_token`.
        slot_keys = [(d, s) for d in range(len(doctors)) for s in range(len(starts))]
        plan = {}  # (doctor index, start index) -> [(patient_id, status, token)]
        remaining = self.appointments
        while remaining > 0 and len(plan) < len(slot_keys):
            key = slot_keys[rng.randrange(len(slot_keys))]
            if key in plan:
                continue
            seats = min(remaining, rng.randint(1, SLOT_CAPACITY))
            past = starts[key[1]] <= self.now
            plan[key] = [
                (patient, self.appointment_status(rng, past), token)
                for token, patient in enumerate(rng.sample(patient_ids, min(seats, len(patient_ids))), start=1)
            ]
            remaining -= len(plan[key])
        created = self.now
        slot_fields = [
            "hospital_id",
            "doctor_id",
            "opd_schedule_id",
            "start",
            "end",
            "local_date",
            "capacity",
            "booked",
            "last_token",
            "status",
            "created_at",
            "updated_at",
        ]
        rows = []
        for d_index, (doctor, schedule) in enumerate(zip(doctors, schedules, strict=True)):
            for s_index, start in enumerate(starts):
                booked = plan.get((d_index, s_index), ())
                rows.append(
                    (
                        hospital.pk,
                        doctor.pk,
                        schedule.pk,
                        start,
                        start + timedelta(minutes=SLOT_MINUTES),
                        start.astimezone(self.zone).date(),
                        SLOT_CAPACITY,
                        sum(1 for _p, status, _t in booked if status != Appointment.Status.CANCELLED),
                        len(booked),
                        Slot.Status.OPEN,
                        created,
                        created,
                    )
                )
        _copy(Slot, slot_fields, rows)
        slot_ids = {
            (doctor_id, start): pk
            for pk, doctor_id, start in Slot.objects.filter(hospital=hospital).values_list("pk", "doctor_id", "start")
        }
        appointment_fields = [
            "patient_id",
            "slot_id",
            "doctor_id",
            "hospital_id",
            "token_number",
            "status",
            "reason",
            "cancel_reason",
            "booked_by_id",
            "created_at",
            "updated_at",
        ]
        rows = []
        for (d_index, s_index), seats in plan.items():
            doctor = doctors[d_index]
            slot_id = slot_ids[(doctor.pk, starts[s_index])]
            for patient, status, token in seats:
                rows.append(
                    (
                        patient,
                        slot_id,
                        doctor.pk,
                        hospital.pk,
                        token,
                        status,
                        "Consultation",
                        "Patient cancelled" if status == Appointment.Status.CANCELLED else "",
                        patient,
                        created,
                        created,
                    )
                )
        _copy(Appointment, appointment_fields, rows)

    def slot_starts(self, first_day: date) -> list[datetime]:
        """The UTC starts of one doctor's slots: Monday-Saturday OPD hours from a week ago onwards."""
        per_day = ((OPD_END.hour - OPD_START.hour) * 60 + OPD_END.minute - OPD_START.minute) // SLOT_MINUTES
        starts, day = [], first_day
        while len(starts) < self.slots_per_doctor:
            if day.weekday() < 6:
                opening = datetime.combine(day, OPD_START, tzinfo=self.zone)
                for index in range(min(per_day, self.slots_per_doctor - len(starts))):
                    starts.append((opening + timedelta(minutes=SLOT_MINUTES * index)).astimezone(UTC))
            day += timedelta(days=1)
        return starts

    @staticmethod
    def appointment_status(rng: random.Random, past: bool) -> str:
        roll = rng.random()
        if past:
            if roll < 0.70:
                return Appointment.Status.COMPLETED
            return Appointment.Status.NO_SHOW if roll < 0.85 else Appointment.Status.CANCELLED
        return Appointment.Status.BOOKED if roll < 0.85 else Appointment.Status.CANCELLED

    def write_blood_bank(self, hospital: Hospital, tag: str, rng: random.Random) -> None:
        bank = BloodBank.objects.create(
            name=f"{hospital.name} Blood Bank",
            hospital=hospital,
            license_number=f"BB-BENCH-{tag.upper()}",
            address=hospital.address,
            city=hospital.city,
            latitude=hospital.latitude,
            longitude=hospital.longitude,
            phone=hospital.phone,
            email=f"bank.{tag}@bench.hms.local",
        )
        fields = [
            "blood_bank_id",
            "blood_group",
            "component",
            "units",
            "initial_units",
            "collected_on",
            "expires_on",
            "lot_number",
            "status",
            "created_at",
        ]
        rows = []
        for index in range(self.lots):
            component = rng.choice(Component.values)
            shelf_life = SHELF_LIFE_DAYS[component]
            collected_on = self.today - timedelta(days=rng.randint(0, shelf_life + 10))
            expires_on = collected_on + timedelta(days=shelf_life)
            initial = rng.randint(1, 10)
            status = StockLot.Status.AVAILABLE
            if expires_on <= self.today and rng.random() < 0.5:
                status = StockLot.Status.EXPIRED  # the rest are past their date but not yet marked
            elif rng.random() < 0.02:
                status = StockLot.Status.DISCARDED
            rows.append(
                (
                    bank.pk,
                    _weighted(rng, GROUP_WEIGHTS.items()),
                    component,
                    rng.randint(0, initial) if rng.random() < 0.2 else initial,
                    initial,
                    collected_on,
                    expires_on,
                    f"BENCH-{index + 1:05d}",
                    status,
                    self.now,
                )
            )
        _copy(StockLot, fields, rows)

    def write_ambulances(self, hospital: Hospital, tag: str, driver: User, rng: random.Random) -> None:
        _bulk(
            Ambulance,
            [
                Ambulance(
                    hospital=hospital,
                    vehicle_number=f"BENCH-{tag.upper()}-{number}",
                    ambulance_type=Ambulance.AmbulanceType.ADVANCED if number == 1 else Ambulance.AmbulanceType.BASIC,
                    driver=driver if number == 1 else None,
                    latitude=hospital.latitude,
                    longitude=hospital.longitude,
                    location_updated_at=self.now,
                )
                for number in (1, 2)
            ],
        )
        # Two open (reported) emergencies per hospital, each with its first event.
        emergencies = _bulk(
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
        _bulk(
            EmergencyEvent,
            [
                EmergencyEvent(emergency=emergency, at=self.now, status=Emergency.Status.REPORTED)
                for emergency in emergencies
            ],
        )

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


def _ward_index(bed_index: int, beds: int) -> int:
    """Which ward of WARD_MIX the n-th bed goes to (by the ward shares)."""
    position, total = (bed_index + 0.5) / beds, 0.0
    for index, (_ward_type, share) in enumerate(WARD_MIX):
        total += share
        if position < total:
            return index
    return len(WARD_MIX) - 1


def _bulk(model, objects: list, batch_size: int = 2000) -> list:
    """bulk_create that returns the objects with their primary keys (PostgreSQL and SQLite both)."""
    return model.objects.bulk_create(objects, batch_size=batch_size)


def _copy(model, fields: list[str], rows: list[tuple], batch_size: int = 5000) -> None:
    """Insert plain tuples fast: COPY on PostgreSQL, bulk_create in batches elsewhere."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        quote = connection.ops.quote_name
        columns = ", ".join(quote(model._meta.get_field(name).column) for name in fields)
        statement = f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN"
        with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
        return
    attnames = [model._meta.get_field(name).attname for name in fields]
    objects = [model(**dict(zip(attnames, row, strict=True))) for row in rows]
    for start in range(0, len(objects), batch_size):
        model.objects.bulk_create(objects[start : start + batch_size])
