"""Every FHIR search costs a bounded number of queries, whatever the page holds (one count and one page
query per HMS table, one per _include, the time zones when a date is searched, the caller's token)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from appointments.models import Prescription, Visit
from appointments.tests.factories import AppointmentFactory, DoctorFactory, OpdScheduleFactory, SlotFactory
from bloodbank.tests.factories import BloodBankFactory
from conftest import client_for
from fhir.tests.conftest import fhir_json
from hospitals.tests.factories import AdmissionFactory, BedFactory, WardFactory

pytestmark = pytest.mark.django_db

ROWS = 12


def _grow(hospital, patient, rows: int) -> None:
    """`rows` more of everything, all visible to `patient` (and to an admin)."""
    for _ in range(rows):
        doctor = DoctorFactory(hospital=hospital)
        schedule = OpdScheduleFactory(doctor=doctor)
        slot = SlotFactory(doctor=doctor, opd_schedule=schedule)
        appointment = AppointmentFactory(slot=slot, patient=patient)
        visit = Visit.objects.create(
            appointment=appointment, patient=patient, doctor=doctor, hospital=hospital, complaint="x"
        )
        Prescription.objects.create(visit=visit, medicine="Drug", duration_days=2)
        ward = WardFactory(hospital=hospital)
        BedFactory(ward=ward)
        BloodBankFactory(hospital=hospital)
    # One active admission per patient: earlier ones discharged.
    AdmissionFactory(
        bed=BedFactory(ward=WardFactory(hospital=hospital)),
        patient=patient,
        admitted_at=timezone.now() - timedelta(days=1),
        discharged_at=timezone.now(),
    )


SEARCHES = [
    ("Patient", 4),
    ("Practitioner?name=person", 4),
    ("PractitionerRole", 4),
    ("Organization", 5),
    ("Location?organization=hospital-{hospital}", 7),
    ("Schedule?actor=Location/hospital-{hospital}", 4),
    ("Slot?_include=Slot:schedule&status=free,busy&start=ge2000-01-01", 6),
    ("Appointment?_include=Appointment:patient&_include=Appointment:practitioner&date=ge2000-01-01", 5),
    ("Encounter?date=ge2000-01-01&patient={patient}", 6),
    ("MedicationRequest?patient={patient}", 4),
]


@pytest.mark.parametrize(("query", "most"), SEARCHES)
@pytest.mark.parametrize("role", ["admin", "patient"])
def test_search_cost_does_not_grow_with_the_page(
    query, most, role, hospital, patient, admin_user, django_assert_max_num_queries
):
    client = client_for(admin_user if role == "admin" else patient)
    path = "/fhir/R4/" + query.format(hospital=hospital.pk, patient=patient.pk)
    _grow(hospital, patient, 1)
    with django_assert_max_num_queries(most):
        small = fhir_json(client.get(path + ("&" if "?" in path else "?") + "_count=100"))
    _grow(hospital, patient, ROWS)
    with django_assert_max_num_queries(most):
        large = fhir_json(client.get(path + ("&" if "?" in path else "?") + "_count=100"))
    if not query.startswith("Patient"):  # one patient, however many records
        assert large["total"] > small["total"] and len(large["entry"]) > ROWS


def _counts_of(client, path) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        fhir_json(client.get(path))
    return sum(1 for query in captured.captured_queries if 'COUNT(*) AS "__count"' in query["sql"])


def test_a_first_page_with_room_to_spare_needs_no_count(hospital, patient):
    doctor = DoctorFactory(hospital=hospital)
    for _ in range(3):
        AppointmentFactory(slot=SlotFactory(doctor=doctor), patient=patient)
    client = client_for(patient)
    path = f"/fhir/R4/Appointment?patient={patient.pk}"
    assert _counts_of(client, path) == 0
    bundle = fhir_json(client.get(path))
    assert bundle["total"] == 3 and len(bundle["entry"]) == 3
    # A full page, or a later one, counts.
    assert _counts_of(client, f"{path}&_count=3") == 1
    assert fhir_json(client.get(f"{path}&_count=3"))["total"] == 3
    assert _counts_of(client, f"{path}&_count=2&_offset=2") == 1
    bundle = fhir_json(client.get(f"{path}&_count=2&_offset=2"))
    assert bundle["total"] == 3 and len(bundle["entry"]) == 1
