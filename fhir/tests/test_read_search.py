"""FHIR read and search (API.md section 18): every response validated as R4 (R4B models + R4 value sets)."""

from datetime import datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from accounts.models import Activity
from accounts.tests.factories import HospitalFactory
from appointments.models import Appointment, Prescription, Slot, Visit
from appointments.tests.factories import AppointmentFactory, DoctorFactory, OpdScheduleFactory, SlotFactory
from bloodbank.tests.factories import BloodBankFactory
from conftest import client_for
from fhir.tests.conftest import fhir_json, ids_of
from hospitals.models import BedStatus
from hospitals.tests.factories import AdmissionFactory, BedFactory, WardFactory

pytestmark = pytest.mark.django_db

TYPES = [
    "Patient",
    "Practitioner",
    "PractitionerRole",
    "Organization",
    "Location",
    "Schedule",
    "Slot",
    "Appointment",
    "Encounter",
    "MedicationRequest",
]


def get(client, path, **headers):
    response = client.get(f"/fhir/R4/{path}", **headers)
    return response, fhir_json(response)


def _visit(appointment, **fields) -> Visit:
    visit = Visit.objects.create(
        appointment=appointment,
        patient=appointment.patient,
        doctor=appointment.doctor,
        hospital=appointment.hospital,
        complaint="Cough",
        **fields,
    )
    Prescription.objects.create(
        visit=visit, medicine="Paracetamol", dosage="500 mg", frequency="3 times a day", duration_days=5
    )
    return visit


# --- CapabilityStatement ------------------------------------------------------------------------------------


def test_metadata_is_public_and_lists_exactly_what_is_served(api):
    response, body = get(api, "metadata")
    assert response.status_code == 200
    assert body["fhirVersion"] == "4.0.1"
    resources = {resource["type"]: resource for resource in body["rest"][0]["resource"]}
    assert sorted(resources) == sorted(TYPES)
    assert [i["code"] for i in resources["Appointment"]["interaction"]] == ["read", "search-type", "create"]
    assert [i["code"] for i in resources["Slot"]["interaction"]] == ["read", "search-type"]
    assert resources["Slot"]["searchInclude"] == ["Slot:schedule"]
    assert set(resources["Appointment"]["searchInclude"]) == {"Appointment:patient", "Appointment:practitioner"}
    names = {t: {p["name"] for p in r["searchParam"]} for t, r in resources.items()}
    assert names["Slot"] == {"_id", "_lastUpdated", "schedule", "start", "status"}
    assert names["Appointment"] == {"_id", "_lastUpdated", "patient", "practitioner", "date", "status"}
    assert names["Location"] == {"_id", "_lastUpdated", "organization", "near"}
    assert names["Encounter"] == {"_id", "_lastUpdated", "patient", "date"}
    assert names["Practitioner"] == {"_id", "_lastUpdated", "name"}
    assert names["Schedule"] == {"_id", "_lastUpdated", "actor"}


# --- every type read and searched ------------------------------------------------------------------------


@pytest.fixture
def world(slot, patient, hospital):
    appointment = AppointmentFactory(slot=slot, patient=patient, reason="Fever")
    visit = _visit(appointment)
    bed = BedFactory(ward=WardFactory(hospital=hospital))
    admission = AdmissionFactory(bed=BedFactory(ward=bed.ward), patient=patient)
    bank = BloodBankFactory(hospital=hospital)
    return {"appointment": appointment, "visit": visit, "bed": bed, "admission": admission, "bank": bank}


def test_admin_reads_and_searches_every_type(world, admin_user, slot, patient, hospital):
    client = client_for(admin_user)
    appointment, visit = world["appointment"], world["visit"]
    reads = {
        "Patient": str(patient.pk),
        "Practitioner": str(slot.doctor_id),
        "PractitionerRole": str(slot.doctor_id),
        "Organization": f"bloodbank-{world['bank'].pk}",
        "Location": f"bed-{world['bed'].pk}",
        "Schedule": str(slot.opd_schedule_id),
        "Slot": str(slot.pk),
        "Appointment": str(appointment.pk),
        "Encounter": f"admission-{world['admission'].pk}",
        "MedicationRequest": str(visit.prescriptions.get().pk),
    }
    for resource_type, resource_id in reads.items():
        response, body = get(client, f"{resource_type}/{resource_id}")
        assert response.status_code == 200, (resource_type, body)
        assert (body["resourceType"], body["id"]) == (resource_type, resource_id)
        response, bundle = get(client, resource_type)
        assert response.status_code == 200
        assert bundle["type"] == "searchset" and bundle["total"] >= 1
        assert resource_id in ids_of(bundle)
    _, locations = get(client, "Location")
    assert set(ids_of(locations)) == {
        f"hospital-{hospital.pk}",
        f"ward-{world['bed'].ward_id}",
        f"bed-{world['bed'].pk}",
        f"bed-{world['admission'].bed_id}",
    }
    _, organizations = get(client, "Organization")
    assert set(ids_of(organizations)) == {f"hospital-{hospital.pk}", f"bloodbank-{world['bank'].pk}"}
    _, encounters = get(client, "Encounter")
    assert set(ids_of(encounters)) == {f"visit-{visit.pk}", f"admission-{world['admission'].pk}"}


def test_appointment_maps_status_slot_and_participants(world, admin_user, slot, patient):
    appointment = world["appointment"]
    _, body = get(client_for(admin_user), f"Appointment/{appointment.pk}")
    assert body["status"] == "booked"
    assert body["slot"] == [{"reference": f"Slot/{slot.pk}"}]
    actors = [p["actor"]["reference"] for p in body["participant"]]
    assert actors == [
        f"Patient/{patient.pk}",
        f"Practitioner/{slot.doctor_id}",
        f"Location/hospital-{slot.hospital_id}",
    ]
    assert body["description"] == "Fever"
    assert datetime.fromisoformat(body["start"]) == slot.start
    assert body["start"].endswith("+05:30")  # the hospital's offset (Asia/Kolkata)
    for status, code in [
        ("checked_in", "checked-in"),
        ("completed", "fulfilled"),
        ("cancelled", "cancelled"),
        ("no_show", "noshow"),
    ]:
        Appointment.objects.filter(pk=appointment.pk).update(status=status)
        _, body = get(client_for(admin_user), f"Appointment/{appointment.pk}")
        assert body["status"] == code


def test_encounters_carry_class_subject_and_references(world, admin_user, patient):
    client = client_for(admin_user)
    _, visit = get(client, f"Encounter/visit-{world['visit'].pk}")
    assert visit["class"]["code"] == "AMB" and visit["status"] == "finished"
    assert visit["subject"] == {"reference": f"Patient/{patient.pk}"}
    assert visit["appointment"] == [{"reference": f"Appointment/{world['appointment'].pk}"}]
    _, admission = get(client, f"Encounter/admission-{world['admission'].pk}")
    assert admission["class"]["code"] == "IMP" and admission["status"] == "in-progress"
    assert admission["location"][0]["location"] == {"reference": f"Location/bed-{world['admission'].bed_id}"}
    _, medication = get(client, f"MedicationRequest?patient=Patient/{patient.pk}")
    resource = medication["entry"][0]["resource"]
    assert resource["encounter"] == {"reference": f"Encounter/visit-{world['visit'].pk}"}
    assert resource["medicationCodeableConcept"]["text"] == "Paracetamol"
    assert resource["dispenseRequest"]["expectedSupplyDuration"]["value"] == 5


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (BedStatus.AVAILABLE, "U"),
        (BedStatus.OCCUPIED, "O"),
        (BedStatus.RESERVED, "U"),
        (BedStatus.CLEANING, "H"),
        (BedStatus.MAINTENANCE, "C"),
    ],
)
def test_bed_operational_status_uses_v2_0116(api, status, code):
    bed = BedFactory(status=status)
    _, body = get(api, f"Location/bed-{bed.pk}")
    assert body["operationalStatus"]["system"] == "http://terminology.hl7.org/CodeSystem/v2-0116"
    assert body["operationalStatus"]["code"] == code
    assert body["partOf"] == {"reference": f"Location/ward-{bed.ward_id}"}


def test_slot_status_free_busy_and_unavailable(api, schedule):
    doctor = schedule.doctor
    free = SlotFactory(doctor=doctor, opd_schedule=schedule, capacity=1)
    full = SlotFactory(doctor=doctor, opd_schedule=schedule, capacity=1)
    AppointmentFactory(slot=full)
    closed = SlotFactory(doctor=doctor, opd_schedule=schedule, status=Slot.Status.CLOSED)
    for slot, code in [(free, "free"), (full, "busy"), (closed, "busy-unavailable")]:
        _, body = get(api, f"Slot/{slot.pk}")
        assert body["status"] == code
        _, bundle = get(api, f"Slot?status={code}")
        assert ids_of(bundle) == [str(slot.pk)]
    _, bundle = get(api, "Slot?status=free,busy")
    assert set(ids_of(bundle)) == {str(free.pk), str(full.pk)}


# --- visibility --------------------------------------------------------------------------------------------


def test_patient_reads_its_own_records_and_gets_404_for_another(world, patient, other_patient, slot):
    other = AppointmentFactory(slot=slot, patient=other_patient)
    other_visit = _visit(other)
    client = client_for(patient)
    for path in [
        f"Patient/{patient.pk}",
        f"Appointment/{world['appointment'].pk}",
        f"Encounter/visit-{world['visit'].pk}",
        f"Encounter/admission-{world['admission'].pk}",
        f"MedicationRequest/{world['visit'].prescriptions.get().pk}",
    ]:
        assert get(client, path)[0].status_code == 200, path
    for path in [
        f"Patient/{other_patient.pk}",
        f"Appointment/{other.pk}",
        f"Encounter/visit-{other_visit.pk}",
        f"MedicationRequest/{other_visit.prescriptions.get().pk}",
    ]:
        response, body = get(client, path)
        assert response.status_code == 404, path
        assert body["issue"][0]["code"] == "not-found"
    for resource_type in ("Patient", "Appointment", "Encounter", "MedicationRequest"):
        _, bundle = get(client, resource_type)
        assert bundle["total"] >= 1
        for entry in bundle["entry"]:
            resource = entry["resource"]
            owner = resource.get("subject") or resource.get("participant", [{}])[0].get("actor")
            if resource_type == "Patient":
                assert resource["id"] == str(patient.pk)
            else:
                assert owner == {"reference": f"Patient/{patient.pk}"} or owner["reference"] == f"Patient/{patient.pk}"
    # Another patient's appointments are not found by naming them either.
    _, bundle = get(client, f"Appointment?patient={other_patient.pk}")
    assert bundle["total"] == 0


def test_clinical_types_need_a_token_public_types_do_not(api, world):
    for resource_type in ("Patient", "Appointment", "Encounter", "MedicationRequest"):
        response, body = get(api, resource_type)
        assert response.status_code == 401
        assert body["issue"][0]["code"] == "login"
        assert get(api, f"{resource_type}/1")[0].status_code == 401
    for resource_type in ("Practitioner", "PractitionerRole", "Organization", "Location", "Schedule", "Slot"):
        assert get(api, resource_type)[0].status_code == 200


def test_doctor_sees_its_appointments_and_their_patients_only(world, doctor_user, patient, other_hospital):
    elsewhere = AppointmentFactory(slot=SlotFactory(doctor=DoctorFactory(hospital=other_hospital)))
    client = client_for(doctor_user)
    _, bundle = get(client, "Appointment")
    assert ids_of(bundle) == [str(world["appointment"].pk)]
    assert get(client, f"Appointment/{elsewhere.pk}")[0].status_code == 404
    _, seen = get(client, f"Patient/{patient.pk}")
    assert get(client, f"Patient/{elsewhere.patient_id}")[0].status_code == 404
    # Staff see what the REST API shows them of a patient (name, phone), never the e-mail.
    assert "email" not in {item["system"] for item in seen.get("telecom", [])}
    _, own = get(client_for(patient), f"Patient/{patient.pk}")
    assert {"system": "email", "value": patient.email} in own["telecom"]


def test_deactivated_hospital_is_hidden_from_all_but_admin(api, admin_user):
    hospital = HospitalFactory(is_active=False)
    bed = BedFactory(ward=WardFactory(hospital=hospital))
    for path in (f"Organization/hospital-{hospital.pk}", f"Location/hospital-{hospital.pk}", f"Location/bed-{bed.pk}"):
        assert get(api, path)[0].status_code == 404
        response, body = get(client_for(admin_user), path)
        assert response.status_code == 200 and body["status" if "Location" in path else "active"] in ("inactive", False)


def test_clinical_reads_are_audited_and_probes_recorded(world, patient, other_patient, slot):
    other = AppointmentFactory(slot=slot, patient=other_patient)
    client = client_for(patient)
    get(client, f"Appointment/{world['appointment'].pk}")
    get(client, f"Encounter/visit-{world['visit'].pk}")
    get(client, f"Appointment/{other.pk}")
    read = Activity.objects.filter(actor=patient, action="read")
    assert {(a.object_type, a.object_id, a.patient_id) for a in read} == {
        ("appointment", world["appointment"].pk, patient.pk),
        ("visit", world["visit"].pk, patient.pk),
    }
    denied = Activity.objects.get(actor=patient, action="read_denied")
    assert (denied.object_type, denied.object_id, denied.patient_id) == ("appointment", other.pk, other_patient.pk)
    # Lists are not logged per row (as in the REST API).
    count = Activity.objects.count()
    get(client, "Appointment")
    assert Activity.objects.count() == count


# --- search parameters -------------------------------------------------------------------------------------


def test_appointment_search_parameters(world, admin_user, slot, patient, other_patient):
    other_doctor_slot = SlotFactory(doctor=DoctorFactory(hospital=slot.hospital))
    other = AppointmentFactory(slot=other_doctor_slot, patient=other_patient, status=Appointment.Status.CANCELLED)
    mine = str(world["appointment"].pk)
    client = client_for(admin_user)
    cases = {
        f"patient=Patient/{patient.pk}": [mine],
        f"patient={other_patient.pk}": [str(other.pk)],
        f"practitioner=Practitioner/{slot.doctor_id}": [mine],
        "status=cancelled": [str(other.pk)],
        "status=booked,cancelled": [mine, str(other.pk)],
        f"_id={mine}": [mine],
        f"patient=Patient/{patient.pk}&status=cancelled": [],
        "patient=Patient/abc": [],
        f"patient=Practitioner/{patient.pk}": [],
    }
    for query, expected in cases.items():
        response, bundle = get(client, f"Appointment?{query}")
        assert response.status_code == 200
        assert sorted(ids_of(bundle)) == sorted(expected), query
        assert bundle["total"] == len(expected)


def test_include_patient_practitioner_and_schedule(world, admin_user, slot, patient):
    client = client_for(admin_user)
    _, bundle = get(client, "Appointment?_include=Appointment:patient&_include=Appointment:practitioner")
    assert ids_of(bundle, "Patient", mode="include") == [str(patient.pk)]
    assert ids_of(bundle, "Practitioner", mode="include") == [str(slot.doctor_id)]
    assert bundle["total"] == 1  # included resources do not count
    _, bundle = get(client, f"Slot?_include=Slot:schedule&schedule=Schedule/{slot.opd_schedule_id}")
    assert ids_of(bundle, "Schedule", mode="include") == [str(slot.opd_schedule_id)]
    _, bundle = get(client, "Slot?schedule=999999")
    assert bundle["total"] == 0 and "entry" not in bundle


def test_location_organization_and_near(api):
    pune = HospitalFactory(latitude=18.52, longitude=73.85)
    mumbai = HospitalFactory(latitude=19.07, longitude=72.87)
    ward = WardFactory(hospital=pune)
    bed = BedFactory(ward=ward)
    _, bundle = get(api, f"Location?organization=Organization/hospital-{pune.pk}")
    assert set(ids_of(bundle)) == {f"hospital-{pune.pk}", f"ward-{ward.pk}", f"bed-{bed.pk}"}
    _, bundle = get(api, "Location?near=18.53|73.86|10|km")
    assert ids_of(bundle) == [f"hospital-{pune.pk}"]
    _, bundle = get(api, "Location?near=18.53|73.86|200|km")
    assert set(ids_of(bundle)) == {f"hospital-{pune.pk}", f"hospital-{mumbai.pk}"}
    _, bundle = get(api, "Location?near=18.53|73.86")  # 50 km by default
    assert ids_of(bundle) == [f"hospital-{pune.pk}"]
    for junk in ("near=abc", "near=91|0|1|km", "near=1|2|3|mi", "near=1|2|-3|km", "near=1|2|nan|km", "near=1"):
        response, body = get(api, f"Location?{junk}")
        assert response.status_code == 400, junk
        assert body["issue"][0]["code"] == "invalid"


def test_practitioner_name_and_schedule_actor(api, hospital):
    asha = DoctorFactory(hospital=hospital, user__fullname="Asha Rao")
    DoctorFactory(hospital=hospital, user__fullname="Vikram Shah")
    schedule = OpdScheduleFactory(doctor=asha)
    _, bundle = get(api, "Practitioner?name=rao")
    assert ids_of(bundle) == [str(asha.pk)]
    _, bundle = get(api, "Practitioner?name=ash")
    assert ids_of(bundle) == [str(asha.pk)]
    _, bundle = get(api, "Practitioner?name:contains=sh")
    assert len(ids_of(bundle)) == 2
    _, bundle = get(api, f"Schedule?actor=Practitioner/{asha.pk}")
    assert ids_of(bundle) == [str(schedule.pk)]
    assert bundle["entry"][0]["resource"]["actor"][0] == {"reference": f"Practitioner/{asha.pk}"}


def test_last_updated_of_an_admission_is_its_discharge(admin_user, hospital, patient):
    admitted = timezone.now() - timedelta(days=10)
    admission = AdmissionFactory(
        bed=BedFactory(ward=WardFactory(hospital=hospital)),
        patient=patient,
        admitted_at=admitted,
        discharged_at=admitted + timedelta(days=3),
    )
    client = client_for(admin_user)
    _, body = get(client, f"Encounter/admission-{admission.pk}")
    assert datetime.fromisoformat(body["meta"]["lastUpdated"]) == admission.discharged_at
    stamp = body["meta"]["lastUpdated"]
    assert ids_of(get(client, f"Encounter?_lastUpdated=ge{stamp}")[1]) == [f"admission-{admission.pk}"]
    assert get(client, f"Encounter?_lastUpdated=gt{stamp}")[1]["total"] == 0


def test_last_updated_filters_by_meta_last_updated(api, hospital):
    doctor = DoctorFactory(hospital=hospital)
    _, body = get(api, f"Practitioner/{doctor.pk}")
    stamp = body["meta"]["lastUpdated"]
    assert get(api, f"Practitioner?_lastUpdated=ge{stamp}")[1]["total"] == 1
    assert get(api, f"Practitioner?_lastUpdated=gt{stamp[:4]}")[1]["total"] == 0
    assert get(api, f"Practitioner?_lastUpdated=lt{stamp[:4]}")[1]["total"] == 0
    # A date without offset is the hospital's local date (Asia/Kolkata here), not the UTC one.
    local_day = datetime.fromisoformat(stamp).astimezone(ZoneInfo("Asia/Kolkata")).date()
    assert get(api, f"Practitioner?_lastUpdated={local_day}")[1]["total"] == 1
    assert get(api, f"Practitioner?_lastUpdated={local_day + timedelta(days=1)}")[1]["total"] == 0


# --- date prefixes in the hospital's time zone --------------------------------------------------------


def test_slot_start_prefixes_at_local_midnight_boundaries(api):
    kolkata = ZoneInfo("Asia/Kolkata")
    hospital = HospitalFactory(timezone="Asia/Kolkata")
    schedule = OpdScheduleFactory(doctor=DoctorFactory(hospital=hospital))
    year = timezone.now().year + 1
    midnight = datetime(year, 1, 10, tzinfo=kolkata)  # 18:30 UTC the day before
    late = datetime(year, 1, 9, 23, 59, tzinfo=kolkata)
    at_midnight = SlotFactory(
        doctor=schedule.doctor, opd_schedule=schedule, start=midnight, end=midnight + timedelta(minutes=15)
    )
    before = SlotFactory(doctor=schedule.doctor, opd_schedule=schedule, start=late, end=late + timedelta(minutes=15))
    a, b = str(at_midnight.pk), str(before.pk)
    cases = {
        f"ge{year}-01-10": [a],
        f"gt{year}-01-09": [a],
        f"le{year}-01-09": [b],
        f"lt{year}-01-10": [b],
        f"{year}-01-10": [a],
        f"{year}-01-09": [b],
        f"ge{year}-01-09T18:30:00Z": [a],
        f"lt{year}-01-09T18:30:00Z": [b],
        f"gt{year}-01-10T00:00": [],
        f"ge{year}-01-10T00:00": [a],
        f"le{year}-01-09T23:59": [b],
        f"ne{year}-01-10": [b],
        f"{year}-01": [a, b],
        f"{year}": [a, b],
    }
    for value, expected in cases.items():
        response, bundle = get(api, f"Slot?start={value.replace('+', '%2B')}&schedule={schedule.pk}")
        assert response.status_code == 200, value
        assert sorted(ids_of(bundle)) == sorted(expected), value
    # A "+" left unencoded arrives as a space: read as the offset it was.
    unencoded = get(api, f"Slot?start=ge{year}-01-10T00:00:00+05:30&schedule={schedule.pk}")[1]
    assert ids_of(unencoded) == [a]
    both = get(api, f"Slot?start=ge{year}-01-09&start=lt{year}-01-11&schedule={schedule.pk}")[1]
    assert both["total"] == 2


def test_date_in_hospital_zone_differs_per_hospital(api):
    year = timezone.now().year + 1
    out = []
    for zone in ("Asia/Kolkata", "America/New_York"):
        hospital = HospitalFactory(timezone=zone)
        schedule = OpdScheduleFactory(doctor=DoctorFactory(hospital=hospital))
        start = datetime(year, 3, 3, 0, 30, tzinfo=ZoneInfo(zone))
        out.append(
            SlotFactory(doctor=schedule.doctor, opd_schedule=schedule, start=start, end=start + timedelta(minutes=15))
        )
    _, bundle = get(api, f"Slot?start={year}-03-03")
    assert sorted(ids_of(bundle)) == sorted(str(slot.pk) for slot in out)


def test_appointment_and_encounter_date(admin_user, world):
    local_day = world["appointment"].slot.start.astimezone(ZoneInfo("Asia/Kolkata")).date()
    client = client_for(admin_user)
    assert get(client, f"Appointment?date={local_day}")[1]["total"] == 1
    assert get(client, f"Appointment?date=lt{local_day}")[1]["total"] == 0
    today = timezone.now().astimezone(ZoneInfo("Asia/Kolkata")).date()
    assert get(client, f"Encounter?date={today}")[1]["total"] == 2
    assert get(client, f"Encounter?date=gt{today}")[1]["total"] == 0


# --- paging ------------------------------------------------------------------------------------------------


def test_paging_through_next_visits_every_match_once(api, schedule):
    slots = [SlotFactory(doctor=schedule.doctor, opd_schedule=schedule) for _ in range(7)]
    seen, url, pages = [], "/fhir/R4/Slot?_count=3", 0
    while url:
        response = api.get(url)
        bundle = fhir_json(response)
        assert bundle["total"] == 7
        seen += ids_of(bundle)
        pages += 1
        links = {link["relation"]: link["url"] for link in bundle["link"]}
        url = None
        if "next" in links:
            parts = urlsplit(links["next"])
            url = f"{parts.path}?{parts.query}"
    assert pages == 3
    assert sorted(seen) == sorted(str(slot.pk) for slot in slots) and len(seen) == len(set(seen))


def test_paging_across_tables_of_one_type(api, hospital):
    ward = WardFactory(hospital=hospital)
    beds = [BedFactory(ward=ward) for _ in range(4)]
    expected = {f"hospital-{hospital.pk}", f"ward-{ward.pk}", *(f"bed-{bed.pk}" for bed in beds)}
    seen, url = [], "/fhir/R4/Location?_count=2"
    while url:
        bundle = fhir_json(api.get(url))
        seen += ids_of(bundle)
        nxt = [link["url"] for link in bundle["link"] if link["relation"] == "next"]
        url = nxt and urlsplit(nxt[0]).path + "?" + urlsplit(nxt[0]).query
    assert sorted(seen) == sorted(expected) and len(seen) == len(expected)


def test_count_default_max_zero_and_junk(api, schedule):
    for _ in range(3):
        SlotFactory(doctor=schedule.doctor, opd_schedule=schedule)
    assert "_count=20" in get(api, "Slot")[1]["link"][0]["url"]
    assert "_count=100" in get(api, "Slot?_count=5000")[1]["link"][0]["url"]
    bundle = get(api, "Slot?_count=0")[1]
    assert bundle["total"] == 3 and "entry" not in bundle
    for junk in ("_count=-1", "_count=abc", "_count=1.5", "_count=99999999999999999999", "_offset=-3", "_offset=x"):
        response, body = get(api, f"Slot?{junk}")
        assert response.status_code == 400, junk
        assert body["resourceType"] == "OperationOutcome"


# --- unknown parameters, strict handling ----------------------------------------------------------------


def test_unknown_parameters_are_ignored_unless_strict(api, slot):
    response, bundle = get(api, "Slot?colour=blue&_sort=start")
    assert response.status_code == 200 and bundle["total"] == 1
    assert "colour" not in bundle["link"][0]["url"]
    response, body = get(api, "Slot?colour=blue", HTTP_PREFER="handling=strict")
    assert response.status_code == 400
    assert "colour" in body["issue"][0]["diagnostics"]
    assert get(api, "Slot?status=free", HTTP_PREFER="handling=strict")[0].status_code == 200
    assert get(api, "Slot?_include=Slot:nothing")[0].status_code == 200
    assert get(api, "Slot?_include=Slot:nothing", HTTP_PREFER="handling=strict")[0].status_code == 400
    assert get(api, "Slot?colour=blue", HTTP_PREFER="handling=lenient")[0].status_code == 200


# --- nothing answers 500 -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "Patient/abc",
        "Patient/99999999999999999999999",
        "Organization/5",
        "Organization/hospital-",
        "Organization/hospital-x",
        "Location/room-1",
        "Location/bed-99999999999999999999",
        "Encounter/visit-0",
        "Slot/-1",
        "Nothing",
        "Nothing/1",
        "Slot/1/_history",
        "",
        "Slot?start=2026-13-01",
        "Slot?start=xx2026",
        "Slot?start=2026-02-30",
        "Slot?start=0000-01-01",
        "Slot?start=9999-12-31T23:59:59Z",
        "Slot?start=ge2026-01-01T25:00",
        "Slot?start=2026-01-01T10:00%2B99:00",
        "Slot?_lastUpdated=yesterday",
        "Slot?schedule=",
        "Slot?schedule=Schedule/99999999999999999999999",
        "Slot?_id=%00",
        "Appointment?date=%00",
        "Practitioner?name=%00",
        "Location?organization=Organization/hospital-99999999999999999999",
    ],
)
def test_junk_never_answers_500(admin_user, path):
    response = client_for(admin_user).get(f"/fhir/R4/{path}")
    assert response.status_code in (200, 400, 404), (path, response.status_code, response.content[:300])
    fhir_json(response)


JUNK_VALUES = [
    "",
    "x",
    "-1",
    "0",
    "99999999999999999999999",
    "1e400",
    "nan",
    "%00",
    "Patient/",
    "/",
    "a|b|c|d|e",
    "eq",
    "ge2026-01-01,lt",
    "sa2026-01-01",
    "2026-01-01T10:00:00.1234567Z",
    "ge1799-12-31",
    "hospital-1,ward-x,bed-99999999999999999999",
    "Slot:schedule:Schedule",
    "%F0%9F%98%80",
    "a" * 2000,
]


def test_every_parameter_of_every_type_takes_junk_without_a_500(admin_user, world):
    client = client_for(admin_user)
    capability = fhir_json(client.get("/fhir/R4/metadata"))
    for resource in capability["rest"][0]["resource"]:
        names = [param["name"] for param in resource["searchParam"]] + ["_count", "_include", "_offset"]
        for name in names:
            for value in JUNK_VALUES:
                for strict in ({}, {"HTTP_PREFER": "handling=strict"}):
                    response = client.get(f"/fhir/R4/{resource['type']}?{name}={value}", **strict)
                    assert response.status_code in (200, 400), (resource["type"], name, value, response.content[:200])
                    fhir_json(response)
