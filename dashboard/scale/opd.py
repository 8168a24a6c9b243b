"""Benchmark hospitals' doctors, OPD schedules, slots and appointments."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from appointments.models import Appointment, Doctor, OpdSchedule, Slot
from dashboard.scale.bulk import bulk, copy_rows

if TYPE_CHECKING:
    from dashboard.scale import BenchData

SLOT_MINUTES = 20
SLOT_CAPACITY = 4
OPD_START, OPD_END = time(9), time(17)
DAYS_BACK = 7  # a week of past slots (completed and no-show appointments), the rest ahead
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


def write_opd(bench: BenchData, hospital, tag, doctor_users, patient_ids, rng: random.Random) -> None:
    """Doctors, their schedules, the slots (COPY) and a booking plan's appointments (COPY); each slot is
    written with its final `booked` and `last_token`."""
    doctors = bulk(
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
    first_day = bench.today - timedelta(days=DAYS_BACK)
    schedules = bulk(
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
    starts = slot_starts(bench, first_day)
    # The booking plan first, so each slot is written with its final `booked` and `last_token`.
    slot_keys = [(d, s) for d in range(len(doctors)) for s in range(len(starts))]
    plan = {}  # (doctor index, start index) -> [(patient_id, status, token)]
    remaining = bench.appointments
    while remaining > 0 and len(plan) < len(slot_keys):
        key = slot_keys[rng.randrange(len(slot_keys))]
        if key in plan:
            continue
        seats = min(remaining, rng.randint(1, SLOT_CAPACITY))
        past = starts[key[1]] <= bench.now
        plan[key] = [
            (patient, appointment_status(rng, past), token)
            for token, patient in enumerate(rng.sample(patient_ids, min(seats, len(patient_ids))), start=1)
        ]
        remaining -= len(plan[key])
    created = bench.now
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
                    start.astimezone(bench.zone).date(),
                    SLOT_CAPACITY,
                    sum(1 for _p, status, _t in booked if status != Appointment.Status.CANCELLED),
                    len(booked),
                    Slot.Status.OPEN,
                    created,
                    created,
                )
            )
    copy_rows(Slot, slot_fields, rows)
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
    copy_rows(Appointment, appointment_fields, rows)


def slot_starts(bench: BenchData, first_day: date) -> list[datetime]:
    """The UTC starts of one doctor's slots: Monday-Saturday OPD hours from a week ago onwards."""
    per_day = ((OPD_END.hour - OPD_START.hour) * 60 + OPD_END.minute - OPD_START.minute) // SLOT_MINUTES
    starts, day = [], first_day
    while len(starts) < bench.slots_per_doctor:
        if day.weekday() < 6:
            opening = datetime.combine(day, OPD_START, tzinfo=bench.zone)
            for index in range(min(per_day, bench.slots_per_doctor - len(starts))):
                starts.append((opening + timedelta(minutes=SLOT_MINUTES * index)).astimezone(UTC))
        day += timedelta(days=1)
    return starts


def appointment_status(rng: random.Random, past: bool) -> str:
    roll = rng.random()
    if past:
        if roll < 0.70:
            return Appointment.Status.COMPLETED
        return Appointment.Status.NO_SHOW if roll < 0.85 else Appointment.Status.CANCELLED
    return Appointment.Status.BOOKED if roll < 0.85 else Appointment.Status.CANCELLED
