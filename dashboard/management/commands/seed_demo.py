"""`python manage.py seed_demo [--scale N]`: the demo world, and benchmark-sized data on request.

Without `--scale`: the demo hospitals, doctors, slots, blood banks and ambulances of every app's
`demo.py`, one account per role, and a table of the logins at the end. Idempotent: every row is
found by its natural key first; an existing account's password is never changed.

With `--scale N`, the demo world plus benchmark-sized `BENCH-` data written by `dashboard.scale`
(N=1: about 100 hospitals, 10,000 beds, 1,000 doctors, 1,000,000 slots, 100,000 appointments).
"""

import math
import time as clock

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from accounts.models import BloodGroup, User
from appointments import services as appointment_services
from appointments.demo import DOCTOR_PASSWORD, seed_appointments
from appointments.models import Appointment, Slot
from bloodbank.demo import DONOR_PASSWORD, DONOR_USERNAME, seed_bloodbank
from dashboard.figures import fold as fold_counters
from dashboard.scale import BenchData
from emergency.demo import DRIVER_PASSWORD, DRIVER_USERNAME, seed_emergency
from hms.api.readcache import writes_committed
from hospitals.demo import seed_hospitals
from transfers.demo import seed_transfers

ADMIN_DEMO_USERNAME = "admin"
ADMIN_DEMO_PASSWORD = "Admin-Pass-2026"
HOSPITAL_ADMIN_USERNAME = "hospital_admin"
HOSPITAL_ADMIN_PASSWORD = "Hospital-Pass-2026"
PATIENT_USERNAME = "patient"
PATIENT_PASSWORD = "Patient-Pass-2026"


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
        if connection.vendor == "postgresql":
            fold_counters()  # the dashboard counters' deltas from the bulk inserts, summed once here
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
        out.write("Referrals")
        seed_transfers(hospitals=hospitals, patient=patient, by=admin, stdout=out)
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
        appointment_services.appointment_book(by=patient, slot_id=slot, reason="Annual check-up")
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
