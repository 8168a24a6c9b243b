"""The searches and reads that render `.values()` rows (Slot, Appointment and its `_include`s, Patient,
Practitioner, PractitionerRole) answer exactly what the model-based mapping they replaced answered.

The reference below is that previous mapping, kept here verbatim (model rows in, dicts out), run on
the same rows loaded through the ORM; the data are random (seeded, several seeds): time zones, hospital
and doctor states, slot statuses, seats, holds (active, lapsed), appointment statuses, empty fields.
"""

import random
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from accounts.models import User
from accounts.tests.factories import HospitalFactory, UserFactory
from appointments.models import Appointment, Doctor, Hold, Slot, booking_refusal
from appointments.tests.factories import (
    AppointmentFactory,
    DoctorFactory,
    HoldFactory,
    OpdScheduleFactory,
    SlotFactory,
)
from conftest import client_for
from fhir.http import identifier_system
from fhir.mapping.common import PARTICIPATION_TYPE, drop_empty, identifier, local, meta, reference, telecom
from fhir.mapping.scheduling import APPOINTMENT_STATUS_CODES, SLOT_BUSY, SLOT_FREE, SLOT_UNAVAILABLE
from fhir.tests.conftest import fhir_json
from hospitals.models import Hospital

pytestmark = pytest.mark.django_db

# --- The previous mapping (model rows), the reference ------------------------------------------------------


def reference_patient(user, *, contact: bool = True) -> dict:
    return drop_empty(
        {
            "resourceType": "Patient",
            "id": str(user.pk),
            "meta": meta(user.date_joined),
            "identifier": identifier(f"user-{user.pk}"),
            "active": user.is_active,
            "name": [{"use": "usual", "text": user.fullname or user.username}],
            "telecom": telecom(user.phone_num, user.email if contact else ""),
        }
    )


def reference_practitioner(doctor) -> dict:
    user = doctor.user
    return drop_empty(
        {
            "resourceType": "Practitioner",
            "id": str(doctor.pk),
            "meta": meta(doctor.updated_at),
            "identifier": [
                *identifier(f"doctor-{doctor.pk}"),
                {"use": "official", "system": f"{identifier_system()}/license", "value": doctor.license_number},
            ],
            "active": user.is_active,
            "name": [{"use": "official", "text": user.fullname or user.username}],
            "telecom": telecom(user.phone_num, user.email),
            "qualification": [{"code": {"text": doctor.qualification}}] if doctor.qualification else [],
        }
    )


def reference_practitioner_role(doctor) -> dict:
    specialty = [{"text": text} for text in (doctor.specialization, doctor.department) if text]
    return drop_empty(
        {
            "resourceType": "PractitionerRole",
            "id": str(doctor.pk),
            "meta": meta(doctor.updated_at),
            "identifier": identifier(f"doctor-{doctor.pk}"),
            "active": doctor.is_available and doctor.user.is_active,
            "practitioner": reference("Practitioner", doctor.pk),
            "organization": reference("Organization", f"hospital-{doctor.hospital_id}"),
            "code": [{"text": "Doctor"}],
            "specialty": specialty,
            "location": [reference("Location", f"hospital-{doctor.hospital_id}")],
        }
    )


def reference_slot_status(slot, now) -> str:
    if (
        slot.status != Slot.Status.OPEN
        or slot.hospital.opd_status == Hospital.OpdStatus.CLOSED
        or not slot.doctor.is_available
        or not slot.hospital.is_active
    ):
        return SLOT_UNAVAILABLE
    return SLOT_FREE if booking_refusal(slot, now) is None else SLOT_BUSY


def reference_slot(row, now) -> dict:
    zone = row.hospital.timezone
    return drop_empty(
        {
            "resourceType": "Slot",
            "id": str(row.pk),
            "meta": meta(row.updated_at),
            "identifier": identifier(f"slot-{row.pk}"),
            "specialty": [{"text": row.doctor.specialization}] if row.doctor.specialization else [],
            "schedule": reference("Schedule", row.opd_schedule_id),
            "status": reference_slot_status(row, now),
            "start": local(row.start, zone),
            "end": local(row.end, zone),
            "comment": f"{row.available} of {row.capacity} seats available",
        }
    )


def reference_appointment(row) -> dict:
    zone = row.hospital.timezone
    doctor_name = row.doctor.user.fullname if row.doctor.user_id else ""
    return drop_empty(
        {
            "resourceType": "Appointment",
            "id": str(row.pk),
            "meta": meta(row.updated_at),
            "identifier": identifier(f"appointment-{row.pk}"),
            "status": APPOINTMENT_STATUS_CODES[row.status],
            "cancelationReason": {"text": row.cancel_reason} if row.cancel_reason else None,
            "description": row.reason,
            "start": local(row.slot.start, zone),
            "end": local(row.slot.end, zone),
            "created": row.created_at.astimezone(ZoneInfo(zone)).date().isoformat(),
            "comment": f"Token {row.token_number}",
            "slot": [reference("Slot", row.slot_id)] if row.slot.opd_schedule_id else [],
            "participant": [
                {
                    "type": [{"coding": [{"system": PARTICIPATION_TYPE, "code": "SBJ", "display": "subject"}]}],
                    "actor": {**reference("Patient", row.patient_id), "display": row.patient.fullname}
                    if row.patient.fullname
                    else reference("Patient", row.patient_id),
                    "required": "required",
                    "status": "accepted",
                },
                {
                    "type": [
                        {"coding": [{"system": PARTICIPATION_TYPE, "code": "PPRF", "display": "primary performer"}]}
                    ],
                    "actor": {**reference("Practitioner", row.doctor_id), "display": doctor_name}
                    if doctor_name
                    else reference("Practitioner", row.doctor_id),
                    "required": "required",
                    "status": "accepted",
                },
                {
                    "actor": reference("Location", f"hospital-{row.hospital_id}"),
                    "required": "required",
                    "status": "accepted",
                },
            ],
        }
    )


# --- Random data --------------------------------------------------------------------------------------------

ZONES = ("Asia/Kolkata", "America/New_York", "UTC", "Pacific/Chatham")


def _maybe(rng, value, empty=""):
    return value if rng.random() < 0.6 else empty


def _random_world(rng) -> list[User]:
    """Hospitals, doctors, schedules, slots (with holds) and appointments of a few patients."""
    patients = [
        UserFactory(
            role=rng.choice(["user", "donor"]),
            fullname=_maybe(rng, f"Patient {index}"),
            phone_num=_maybe(rng, f"+9198{index:08d}"),
            email=_maybe(rng, f"p{index}@example.org"),
        )
        for index in range(4)
    ]
    now = timezone.now()
    for index in range(3):
        hospital = HospitalFactory(
            timezone=rng.choice(ZONES),
            is_active=rng.random() < 0.8,
            opd_status=rng.choice([Hospital.OpdStatus.OPEN, Hospital.OpdStatus.OPEN, Hospital.OpdStatus.CLOSED]),
        )
        for number in range(2):
            doctor = DoctorFactory(
                hospital=hospital,
                is_available=rng.random() < 0.8,
                specialization=_maybe(rng, "Cardiology"),
                department=_maybe(rng, "Medicine"),
                qualification=_maybe(rng, "MD"),
                user=UserFactory(
                    role="doctor",
                    hospital=hospital,
                    fullname=_maybe(rng, f"Doctor {index}"),
                    phone_num=_maybe(rng, "+911234"),
                    email=_maybe(rng, f"d{index}.{number}@example.org"),
                    is_active=rng.random() < 0.9,
                ),
            )
            schedule = OpdScheduleFactory(doctor=doctor)
            for _ in range(4):
                start = now + timedelta(minutes=rng.choice([-90, -10, 30, 600, 3000]) + rng.randrange(0, 10_000) * 15)
                slot = SlotFactory(
                    doctor=doctor,
                    opd_schedule=schedule if rng.random() < 0.85 else None,
                    start=start,
                    end=start + timedelta(minutes=15),
                    capacity=rng.randint(1, 4),
                    status=rng.choice([Slot.Status.OPEN, Slot.Status.OPEN, Slot.Status.CLOSED, Slot.Status.CANCELLED]),
                )
                if rng.random() < 0.7:
                    AppointmentFactory(
                        slot=slot,
                        patient=rng.choice(patients),
                        status=rng.choice(list(Appointment.Status)),
                        reason=_maybe(rng, "Fever"),
                        cancel_reason=_maybe(rng, "Travel"),
                    )
                Slot.objects.filter(pk=slot.pk).update(booked=0, last_token=9)
                for _ in range(rng.randint(0, slot.capacity)):
                    HoldFactory(slot=slot, expires_at=now + timedelta(minutes=rng.choice([-5, 5])))
                slot.refresh_from_db()
                Slot.objects.filter(pk=slot.pk).update(booked=rng.randint(0, slot.capacity - slot.hold_count))
    return patients


def _resources(bundle: dict, mode: str) -> dict[tuple[str, str], dict]:
    return {
        (entry["resource"]["resourceType"], entry["resource"]["id"]): entry["resource"]
        for entry in bundle.get("entry", [])
        if entry["search"]["mode"] == mode
    }


def _slots(now):
    return Slot.objects.with_held(now).select_related("hospital", "doctor")


def _appointments():
    return Appointment.objects.select_related("patient", "doctor__user", "hospital", "slot")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_values_rendering_answers_what_the_model_mapping_answered(seed, admin_user):
    rng = random.Random(seed)
    patients = _random_world(rng)
    now = timezone.now()
    # Staff see other patients' records without their e-mail.
    staff = [UserFactory(role="hospital_admin", hospital=hospital) for hospital in Hospital.objects.order_by("id")]
    staff.append(Doctor.objects.order_by("id").first().user)
    with time_machine.travel(now, tick=False):
        for caller in (admin_user, patients[0], *staff):
            client = client_for(caller)
            admin = caller.pk == admin_user.pk

            bundle = fhir_json(client.get("/fhir/R4/Slot?_count=100&_include=Slot:schedule"))
            matches = _resources(bundle, "match")
            assert bundle["total"] == len(matches) > 0 or not admin
            for (_, pk), resource in matches.items():
                assert resource == reference_slot(_slots(now).get(pk=pk), now)
            for query in ("status=free", "status=busy", "status=busy-unavailable,free"):
                bundle = fhir_json(client.get(f"/fhir/R4/Slot?_count=100&{query}"))
                for (_, pk), resource in _resources(bundle, "match").items():
                    assert resource == reference_slot(_slots(now).get(pk=pk), now)

            path = "/fhir/R4/Appointment?_count=100&_include=Appointment:patient&_include=Appointment:practitioner"
            bundle = fhir_json(client.get(path))
            matches = _resources(bundle, "match")
            assert bundle["total"] == len(matches)
            for (_, pk), resource in matches.items():
                appointment = _appointments().get(pk=pk)
                assert resource == reference_appointment(appointment)
                assert fhir_json(client.get(f"/fhir/R4/Appointment/{pk}")) == resource
            for (rtype, pk), resource in _resources(bundle, "include").items():
                if rtype == "Patient":
                    assert resource == reference_patient(User.objects.get(pk=pk), contact=admin or pk == str(caller.pk))
                else:
                    assert resource == reference_practitioner(Doctor.objects.select_related("user").get(pk=pk))
            plain = fhir_json(client.get("/fhir/R4/Appointment?_count=100"))
            assert _resources(plain, "match") == matches

            bundle = fhir_json(client.get("/fhir/R4/Patient?_count=100"))
            assert bundle["total"] == len(bundle.get("entry", [])) >= (len(patients) if admin else 0)
            for (_, pk), resource in _resources(bundle, "match").items():
                expected = reference_patient(User.objects.get(pk=pk), contact=admin or pk == str(caller.pk))
                assert resource == expected
                assert fhir_json(client.get(f"/fhir/R4/Patient/{pk}")) == expected

            for rtype, render in (
                ("Practitioner", reference_practitioner),
                ("PractitionerRole", reference_practitioner_role),
            ):
                bundle = fhir_json(client.get(f"/fhir/R4/{rtype}?_count=100"))
                assert bundle["total"] == len(bundle.get("entry", []))
                for (_, pk), resource in _resources(bundle, "match").items():
                    assert resource == render(Doctor.objects.select_related("user").get(pk=pk))
                    assert fhir_json(client.get(f"/fhir/R4/{rtype}/{pk}")) == resource


def test_pages_and_totals_match_the_querysets_on_random_data(admin_user):
    """Paging (page, count, offsets across the end) through compiled rows: every match once, in order."""
    rng = random.Random(7)
    _random_world(rng)
    now = timezone.now()
    client = client_for(admin_user)
    with time_machine.travel(now, tick=False):
        expected = list(
            Slot.objects.filter(opd_schedule__isnull=False).order_by("start", "id").values_list("pk", flat=True)
        )
        for count in (1, 3, 7, 100):
            for offset in (0, 1, count, len(expected) - 1, len(expected), len(expected) + 5):
                bundle = fhir_json(client.get(f"/fhir/R4/Slot?_count={count}&_offset={offset}"))
                assert bundle["total"] == len(expected)
                got = [int(pk) for pk in (entry["resource"]["id"] for entry in bundle.get("entry", []))]
                assert got == expected[offset : offset + count]
        bundle = fhir_json(client.get("/fhir/R4/Slot?_count=0"))
        assert bundle["total"] == len(expected) and "entry" not in bundle
        bundle = fhir_json(client.get("/fhir/R4/Slot?_id=junk"))
        assert bundle["total"] == 0 and "entry" not in bundle
        assert Hold.objects.exists()
