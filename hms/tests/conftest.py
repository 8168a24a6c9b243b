"""One small hospital world for the cross-app security, fault and data-safety tests.

Patient A (`patient`) holds one record of every clinical kind at `hospital`; patient B
(`other_patient`) and the staff of `other_hospital` must never reach them.
"""

import datetime
import json
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import Activity
from appointments.models import Prescription, Visit
from appointments.tests.factories import (
    AppointmentFactory,
    DoctorFactory,
    HoldFactory,
    OpdScheduleFactory,
    SlotFactory,
)
from bloodbank.models import Donation
from bloodbank.tests.factories import BloodBankFactory, BloodRequestFactory, StockLotFactory
from emergency.tests.factories import AmbulanceFactory, EmergencyFactory
from hospitals.tests.factories import AdmissionFactory, BedFactory, WardFactory


@pytest.fixture
def world(
    hospital, other_hospital, patient, other_patient, donor, doctor_user, driver_user, hospital_admin, admin_user
):
    """Patient A's appointment, visit, admission, blood request and emergency at `hospital`, plus the
    public objects around them (doctor, schedule, slots, ward, beds, bank, lot, ambulance)."""
    doctor = DoctorFactory(user=doctor_user, hospital=hospital)
    other_doctor = DoctorFactory(hospital=other_hospital)
    schedule = OpdScheduleFactory(doctor=doctor)
    schedule.refresh_from_db()
    slot = SlotFactory(doctor=doctor, capacity=5)
    spare_slot = SlotFactory(doctor=doctor, capacity=5)
    appointment = AppointmentFactory(slot=slot, patient=patient)
    hold = HoldFactory(slot=SlotFactory(doctor=doctor, capacity=5), patient=patient)
    visit = Visit.objects.create(
        patient=patient, doctor=doctor, hospital=hospital, complaint="Cough", diagnosis="Cold", notes="Rest"
    )
    Prescription.objects.create(visit=visit, medicine="Paracetamol", dosage="500 mg")
    ward = WardFactory(hospital=hospital)
    bed = BedFactory(ward=ward)
    free_bed = BedFactory(ward=ward)
    admission = AdmissionFactory(bed=bed, patient=patient)
    bank = BloodBankFactory(hospital=hospital)
    lot = StockLotFactory(blood_bank=bank, blood_group="A+", units=10)
    blood_request = BloodRequestFactory(requester=patient, blood_bank=bank, hospital=hospital)
    donation_lot = StockLotFactory(blood_bank=bank, blood_group="O+", units=1)
    donation = Donation.objects.create(
        donor=donor,
        blood_bank=bank,
        donated_on=timezone.localdate(),
        blood_group="O+",
        units=1,
        lot=donation_lot,
        recorded_by=hospital_admin,
    )
    ambulance = AmbulanceFactory(hospital=hospital, driver=driver_user, latitude=18.521, longitude=73.851)
    emergency = EmergencyFactory(hospital=hospital, reporter=patient)
    Activity.objects.create(action=Activity.Action.LOGIN, actor=admin_user, actor_role="admin")
    # Part two's records of patient A: in line for the doctor, referred from `hospital` to a third
    # hospital (so `other_hospital`'s staff may not see it), a notice in its inbox; and the staff side:
    # today's queue of the doctor, a webhook of the admin.
    from appointments.queue_models import OpdQueue
    from appointments.waitlist_models import DoctorLeave, WaitlistEntry
    from notifications.tests.conftest import notify
    from transfers.tests.factories import ReferralFactory
    from webhooks.tests.factories import WebhookFactory

    waitlist_entry = WaitlistEntry.objects.create(
        patient=patient, doctor=doctor, hospital=hospital, date=timezone.localdate() + datetime.timedelta(days=3)
    )
    referral = ReferralFactory(patient=patient, from_hospital=hospital)
    notification = notify(patient, "world:1", title="Your appointment", body="See you soon.")
    queue = OpdQueue.objects.create(doctor=doctor, hospital=hospital, date=timezone.localdate())
    webhook = WebhookFactory(created_by=admin_user)
    leave_start = timezone.now() + datetime.timedelta(days=60)
    leave = DoctorLeave.objects.create(
        doctor=doctor, hospital=hospital, start=leave_start, end=leave_start + datetime.timedelta(hours=4)
    )
    return SimpleNamespace(
        leave=leave,
        waitlist_entry=waitlist_entry,
        referral=referral,
        notification=notification,
        queue=queue,
        webhook=webhook,
        hospital=hospital,
        other_hospital=other_hospital,
        patient=patient,
        other_patient=other_patient,
        donor=donor,
        admin=admin_user,
        hospital_admin=hospital_admin,
        doctor=doctor,
        other_doctor=other_doctor,
        schedule=schedule,
        slot=slot,
        spare_slot=spare_slot,
        appointment=appointment,
        hold=hold,
        visit=visit,
        ward=ward,
        floor=ward.floor,
        bed=bed,
        free_bed=free_bed,
        admission=admission,
        bank=bank,
        lot=lot,
        blood_request=blood_request,
        donation=donation,
        ambulance=ambulance,
        emergency=emergency,
    )


@pytest.fixture(scope="module")
def schema(django_db_blocker, tmp_path_factory):
    """The OpenAPI schema as /api/schema serves it, as JSON (validated; a drf-spectacular warning fails)."""
    path = tmp_path_factory.mktemp("schema") / "schema.json"
    with django_db_blocker.unblock():
        call_command("spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", "--file", str(path))
    return json.loads(path.read_text())
