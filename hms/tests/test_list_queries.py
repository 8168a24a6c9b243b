"""No list endpoint issues a query per row: no paginated GET in the schema costs more SQL queries for a
page of fifty rows than for a page of one (a page that is not full may cost one fewer: it holds every
row from its offset on, so it is its own count).

The routes come from the served OpenAPI document, so a new list endpoint is checked without being
named here. Each list is read by an administrator (who sees every row) over the demo world plus rows
of every kind the demo leaves out; a list that holds fewer than two rows would prove nothing, so the
test fails for it too.
"""

import datetime

import pytest
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.activity import record
from accounts.tests.factories import UserFactory
from appointments.demo import seed_appointments
from appointments.models import Slot
from appointments.queue_models import OpdQueue, QueueEntry
from appointments.tests.factories import AppointmentFactory
from appointments.waitlist_models import DoctorLeave
from bloodbank.demo import seed_bloodbank
from bloodbank.models import BloodBank, StockLot
from bloodbank.tests.factories import BloodRequestFactory
from conftest import client_for
from emergency.demo import seed_emergency
from emergency.models import Ambulance
from emergency.tests.factories import EmergencyFactory
from hms.tests.openapi import openapi
from hospitals.demo import seed_hospitals
from hospitals.models import Bed, BedStatus
from hospitals.tests.factories import AdmissionFactory
from notifications.tests.conftest import notify
from transfers.tests.factories import ReferralFactory
from webhooks.tests.factories import WebhookDeliveryFactory

pytestmark = pytest.mark.django_db


def _paginated_lists(document: dict) -> list[str]:
    """GET paths whose 200 answer is a page (`count`, `results`); ids in the path are filled in later."""
    paths = []
    for path, operations in document["paths"].items():
        get = operations.get("get")
        if get is None or "200" not in get["responses"]:
            continue
        schema = get["responses"]["200"].get("content", {}).get("application/json", {}).get("schema", {})
        if "$ref" in schema:
            schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        if {"count", "results"} <= set(schema.get("properties", {})):
            paths.append(path)
    return sorted(paths)


@pytest.fixture
def world(admin_user):
    hospitals = seed_hospitals()
    seed_appointments(hospitals=hospitals)
    seed_bloodbank(hospitals=hospitals)
    seed_emergency(hospitals=hospitals)
    hospital = hospitals[0]
    beds = list(Bed.objects.filter(hospital=hospital, status=BedStatus.AVAILABLE).order_by("id")[:3])
    for bed in beds:
        AdmissionFactory(bed=bed, patient=UserFactory(role="user"))
    client = client_for(admin_user)
    slots = list(Slot.objects.filter(hospital=hospital, start__gt=timezone.now()).order_by("id")[:3])
    bank = BloodBank.objects.filter(hospital=hospital).first()
    past = (timezone.localdate() - datetime.timedelta(days=10)).isoformat()
    patient = UserFactory(role="user")  # the caller of the "my-..." lists: appointments, visits read
    for slot in slots:
        appointment = AppointmentFactory(slot=slot, patient=patient)
        visit = {"appointment_id": appointment.pk, "complaint": "Cough", "diagnosis": "Cold"}
        visit["prescriptions"] = [{"medicine": "Rest", "dosage": "-", "frequency": "daily", "duration_days": 3}]
        response = client_for(slot.doctor.user).post("/api/v1/visits", visit, format="json")
        assert response.status_code == 201, response.content
        BloodRequestFactory(blood_bank=bank, requester=UserFactory(role="user"))
        donation = {
            "donor_id": UserFactory(role="donor", blood_group="O+").pk,
            "blood_bank_id": bank.pk,
            "donated_on": past,
            "units": 1,
        }
        response = client.post("/api/v1/donations", donation, format="json")
        assert response.status_code == 201, response.content
        EmergencyFactory(hospital=hospital)
        response = client_for(UserFactory(role="user")).post(f"/api/v1/slots/{slot.pk}/hold", {}, format="json")
        assert response.status_code == 201, response.content
        record(action="create", actor=admin_user, object_type="hospital", object_id=hospital.pk)
    ambulance = Ambulance.objects.filter(hospital=hospital).first()
    for latitude in (18.51, 18.52, 18.53):
        response = client.post(
            f"/api/v1/ambulances/{ambulance.pk}/location", {"latitude": latitude, "longitude": 73.85}, format="json"
        )
        assert response.status_code == 200, response.content
    demo_queue = OpdQueue.objects.first()  # the demo's queue of today, and one of tomorrow: the queue list
    OpdQueue.objects.create(
        doctor_id=demo_queue.doctor_id,
        hospital_id=demo_queue.hospital_id,
        date=demo_queue.date + datetime.timedelta(days=1),
    )
    leave_doctor = slots[0].doctor  # a doctor's leaves (each closing one slot): the leave list
    for days in (30, 31, 32):
        start = timezone.now() + datetime.timedelta(days=days)
        leave = DoctorLeave.objects.create(
            doctor=leave_doctor,
            hospital_id=leave_doctor.hospital_id,
            start=start,
            end=start + datetime.timedelta(hours=1),
        )
        leave.closed_slots.set(slots[:1])
    for _ in range(3):  # referrals between two demo hospitals, each with its request event
        ReferralFactory(from_hospital=hospitals[0], to_hospital=hospitals[1])
    webhook = WebhookDeliveryFactory.create_batch(3)[0].webhook  # webhooks, and a delivery log of one
    WebhookDeliveryFactory.create_batch(2, webhook=webhook)
    for number in range(3):  # the caller's own inbox (the admin's), each with its three deliveries
        notify(admin_user, f"list-queries:{number}")
    return {"hospital": hospital.pk, "ambulance": ambulance.pk, "patient": patient, "webhook": webhook.pk}


def _url(path: str, ids: dict) -> str:
    """Fill `{id}` with a hospital's id, or an ambulance's for the ambulance routes."""
    if "{" not in path:
        return path
    if "{doctor_id}" in path:  # a doctor's leaves: the doctor holding the most
        leave = DoctorLeave.objects.values("doctor_id").annotate(n=Count("id")).order_by("-n").first()
        return path.replace("{doctor_id}", str(leave["doctor_id"]))
    assert path.count("{") == 1 and "{id}" in path, f"add an id source for {path}"
    source = "ambulance" if "ambulance" in path else "hospital"
    source = "webhook" if path.startswith("/api/v1/webhooks/") else source
    if path.startswith("/api/v1/queues/"):  # the queue holding the most entries (the demo's)
        queue = QueueEntry.objects.values("queue_id").annotate(n=Count("id")).order_by("-n").first()
        return path.replace("{id}", str(queue["queue_id"]))
    if path.startswith("/api/v1/blood-banks/"):  # the bank holding the most lots (the demo stocks every bank)
        bank = StockLot.objects.values("blood_bank_id").annotate(n=Count("id")).order_by("-n").first()
        return path.replace("{id}", str(bank["blood_bank_id"]))
    return path.replace("{id}", str(ids[source]))


def test_no_list_endpoint_costs_more_queries_for_fifty_rows_than_for_one(world, admin_user):
    admin, patient = client_for(admin_user), client_for(world["patient"])
    document = openapi()
    lists = _paginated_lists(document)
    assert len(lists) >= 20, lists  # the schema was read: every app's lists are there
    costs = {}
    for path in lists:
        url = _url(path, world)
        client = patient if "/my-" in path else admin  # the caller's own rows
        client.get(url, {"page_size": 1})  # warm-up: content types, cached schema lookups
        measured = {}
        for page_size in (1, 50):
            with CaptureQueriesContext(connection) as captured:
                response = client.get(url, {"page_size": page_size})
            assert response.status_code == 200, (url, response.content)
            measured[page_size] = (len(captured.captured_queries), len(response.json()["results"]))
        costs[path] = measured
    too_few = {path: m[50][1] for path, m in costs.items() if m[50][1] < 2}
    assert not too_few, f"lists without enough rows to compare: {too_few}"
    growing = {path: (m[1][0], m[50][0]) for path, m in costs.items() if m[50][0] > m[1][0]}
    assert not growing, f"queries (page of 1, page of 50) grow with the rows: {growing}"


def test_the_check_notices_a_query_per_row(world, admin_user, monkeypatch):
    """The comparison above catches an N+1: reading each row's slot lazily shows up at once."""
    from appointments.holds import HoldOut
    from appointments.models import Hold

    original = HoldOut.get_status

    def reading_the_slot(self, obj):
        obj.slot.status  # noqa: B018 - a lazy foreign key: one query per row
        return original(self, obj)

    monkeypatch.setattr(HoldOut, "get_status", reading_the_slot)
    client = client_for(admin_user)
    counts = []
    for page_size in (1, 50):
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/api/v1/holds", {"page_size": page_size})
        assert response.status_code == 200
        counts.append(len(captured.captured_queries))
    assert Hold.objects.count() >= 2
    assert counts[1] > counts[0]
