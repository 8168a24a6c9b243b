"""Demo data for OPD: doctors (one signs in as `doctor` / `Doctor-Pass-2026`), their OPD schedules and
two weeks of slots. Idempotent: running it again creates nothing twice. Called by `seed_demo`."""

from datetime import time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from appointments import services
from appointments.models import Doctor, OpdSchedule
from appointments.queue_demo import seed_queue

DOCTOR_PASSWORD = "Doctor-Pass-2026"
SLOT_DAYS = 14


class DemoDoctor(NamedTuple):
    username: str
    fullname: str
    specialization: str
    department: str
    qualification: str
    hospital_index: int  # of the demo hospitals, modulo their number
    hours: tuple[time, time]  # the OPD's start and end time


DEMO_DOCTORS = [
    DemoDoctor("doctor", "Dr. Asha Menon", "General Medicine", "Medicine", "MBBS, MD", 0, (time(9), time(13))),
    DemoDoctor(
        "dr.iyer", "Dr. Rohan Iyer", "Cardiology", "Cardiology", "MBBS, DM (Cardiology)", 0, (time(14), time(17))
    ),
    DemoDoctor("dr.shah", "Dr. Meera Shah", "Pediatrics", "Pediatrics", "MBBS, DCH", 1, (time(10), time(13))),
    DemoDoctor("dr.rao", "Dr. Vikram Rao", "Orthopedics", "Orthopedics", "MBBS, MS (Ortho)", 2, (time(9), time(12))),
]


def _say(stdout, message: str) -> None:
    if stdout is not None:
        stdout.write(message if message.endswith("\n") else message + "\n")


@transaction.atomic
def _doctor(*, spec: DemoDoctor, hospital, stdout) -> Doctor | None:
    username = spec.username
    user = User.objects.filter(username__iexact=username).first()
    if user is None:
        user = User(
            username=username,
            fullname=spec.fullname,
            email=f"{username.replace('.', '-')}@hms.local",
            role=User.Role.DOCTOR,
            hospital=hospital,
        )
        user.set_password(DOCTOR_PASSWORD)
        user.save()
    elif user.role != User.Role.DOCTOR:
        _say(stdout, f"  skipped doctor {username}: that username belongs to a {user.role} account")
        return None
    doctor, _ = Doctor.objects.get_or_create(
        user=user,
        defaults={
            "hospital_id": user.hospital_id,
            "specialization": spec.specialization,
            "department": spec.department,
            "qualification": spec.qualification,
            "license_number": f"DEMO-{username.upper()}",
            "experience_years": 8,
            "consultation_fee": 500,
        },
    )
    return doctor


def seed_appointments(*, hospitals, stdout=None) -> list[Doctor]:
    """Demo doctors with Monday-Saturday OPD schedules and slots for the next two weeks."""
    hospitals = list(hospitals)
    if not hospitals:
        return []
    doctors = []
    created = 0
    for spec in DEMO_DOCTORS:
        doctor = _doctor(spec=spec, hospital=hospitals[spec.hospital_index % len(hospitals)], stdout=stdout)
        if doctor is None:
            continue
        doctors.append(doctor)
        today = timezone.now().astimezone(ZoneInfo(doctor.hospital.timezone)).date()
        schedule, _ = OpdSchedule.objects.get_or_create(
            doctor=doctor,
            start_time=spec.hours[0],
            end_time=spec.hours[1],
            defaults={
                "hospital_id": doctor.hospital_id,
                "department": spec.department,
                "weekdays": [0, 1, 2, 3, 4, 5],
                "slot_minutes": 15,
                "capacity_per_slot": 4,
                "valid_from": today,
            },
        )
        if schedule.is_active:
            result = services.slots_generate(
                by=None,
                schedule=schedule,
                from_date=today,
                to_date=today + timedelta(days=SLOT_DAYS - 1),
            )
            created += result["created"]
    _say(stdout, f"  doctors: {len(doctors)}, new slots: {created} (next {SLOT_DAYS} days)")
    if doctors:
        seed_waitlist(doctor=doctors[0], stdout=stdout)
        seed_queue(doctor=doctors[0], stdout=stdout)
    _say(stdout, f"  doctor login: doctor / {DOCTOR_PASSWORD}")
    return doctors


WAITLIST_PATIENTS = [("waitlist.anita", "Anita Waitlist"), ("waitlist.bala", "Bala Waitlist")]


@transaction.atomic
def seed_waitlist(*, doctor: Doctor, stdout=None) -> None:
    """A waitlist to look at: two demo patients in line for the first demo doctor's next OPD day (one
    with a morning window). Idempotent: an entry already waiting is kept (the one-per-date rule)."""
    from appointments.models import Slot
    from appointments.services import waitlist
    from appointments.waitlist_models import WaitlistEntry

    slot = Slot.objects.filter(doctor=doctor, start__gt=timezone.now()).order_by("start").first()
    if slot is None:
        return
    joined = 0
    for index, (username, fullname) in enumerate(WAITLIST_PATIENTS):
        user = User.objects.filter(username__iexact=username).first()
        if user is None:
            user = User(username=username, fullname=fullname, email=f"{username.replace('.', '-')}@hms.local")
            user.set_unusable_password()
            user.save()
        if (
            user.role != User.Role.USER
            or WaitlistEntry.objects.filter(
                patient=user, doctor=doctor, date=slot.local_date, status__in=WaitlistEntry.ACTIVE
            ).exists()
        ):
            continue
        window = {"from_time": time(9), "to_time": time(11)} if index else {}
        waitlist.waitlist_join(by=user, doctor_id=doctor.pk, date=slot.local_date, **window)
        joined += 1
    _say(stdout, f"  waitlist: {joined} new entries for {doctor.user.fullname} on {slot.local_date}")
