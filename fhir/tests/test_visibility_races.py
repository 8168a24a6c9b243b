"""No FHIR answer to anyone else carries a patient's data; concurrent FHIR bookings never overbook."""

import json

import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import User
from accounts.tests.factories import HospitalFactory, UserFactory
from appointments.models import Appointment, Prescription, Slot, Visit
from appointments.tests.factories import AppointmentFactory, DoctorFactory, OpdScheduleFactory, SlotFactory
from conftest import client_for, run_together
from fhir.tests.conftest import fhir_json
from fhir.types import TYPES
from hospitals.tests.factories import AdmissionFactory, BedFactory, WardFactory

MARKERS = ("Zebedee Quarrington", "zq-private@example.org", "+91-55555-01234", "Chronic marker ailment")


@pytest.mark.django_db
def test_no_fhir_answer_to_anyone_else_carries_the_patients_data(slot, patient, hospital):
    User.objects.filter(pk=patient.pk).update(fullname=MARKERS[0], email=MARKERS[1], phone_num=MARKERS[2])
    patient.refresh_from_db()
    appointment = AppointmentFactory(slot=slot, patient=patient, reason=MARKERS[3])
    visit = Visit.objects.create(
        appointment=appointment, patient=patient, doctor=slot.doctor, hospital=hospital, complaint=MARKERS[3]
    )
    Prescription.objects.create(visit=visit, medicine=MARKERS[3])
    # A walk-in's admission: hospital staff see admissions (and so their patients) as in the REST API.
    admission = AdmissionFactory(
        bed=BedFactory(ward=WardFactory(hospital=hospital)), patient=None, patient_name="Walk-in"
    )
    other_hospital = HospitalFactory()
    others = {
        "anonymous": APIClient(),
        "other patient": client_for(UserFactory(role="user")),
        "donor": client_for(UserFactory(role="donor")),
        "other hospital admin": client_for(UserFactory(role="hospital_admin", hospital=other_hospital)),
        "other doctor": client_for(DoctorFactory(hospital=other_hospital).user),
        "untreating doctor": client_for(DoctorFactory(hospital=hospital).user),
    }
    paths = [f"{name}?_count=100" for name in TYPES]
    paths += ["Appointment?_include=Appointment:patient", f"Appointment?patient={patient.pk}"]
    paths += [
        f"Patient/{patient.pk}",
        f"Appointment/{appointment.pk}",
        f"Encounter/visit-{visit.pk}",
        f"MedicationRequest/{visit.prescriptions.get().pk}",
    ]
    leaks = []
    for who, client in others.items():
        for path in paths:
            response = client.get(f"/fhir/R4/{path}")
            assert response.status_code < 500, path
            fhir_json(response)
            leaks += [f"{who} {path}: {marker}" for marker in MARKERS if marker in response.content.decode()]
    assert leaks == []
    # The untreating doctor of the same hospital sees the hospital's admissions, as in the REST API.
    body = fhir_json(others["untreating doctor"].get(f"/fhir/R4/Encounter/admission-{admission.pk}"))
    assert body["id"] == f"admission-{admission.pk}"
    # The guard: the patient itself finds every marker.
    own = client_for(patient)
    found = set()
    for path in paths:
        found |= {marker for marker in MARKERS if marker in own.get(f"/fhir/R4/{path}").content.decode()}
    assert found == set(MARKERS)


@pytest.mark.django_db(transaction=True)
def test_concurrent_fhir_bookings_never_exceed_capacity():
    schedule = OpdScheduleFactory(doctor=DoctorFactory())
    slot = SlotFactory(doctor=schedule.doctor, opd_schedule=schedule, capacity=2)
    patients = [UserFactory(role="user") for _ in range(6)]
    clients = [client_for(patient) for patient in patients]

    def book(client, patient):
        body = {
            "resourceType": "Appointment",
            "status": "booked",
            "slot": [{"reference": f"Slot/{slot.pk}"}],
            "participant": [{"actor": {"reference": f"Patient/{patient.pk}"}}],
        }
        response = client.post("/fhir/R4/Appointment", json.dumps(body), content_type="application/fhir+json")
        return response.status_code

    statuses = run_together([lambda c=c, p=p: book(c, p) for c, p in zip(clients, patients, strict=True)])
    assert sorted(statuses) == [201, 201, 409, 409, 409, 409]
    connection.close()
    slot = Slot.objects.get(pk=slot.pk)
    assert slot.booked == 2 == Appointment.objects.filter(slot=slot).count()
