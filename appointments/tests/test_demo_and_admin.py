from io import StringIO

import pytest

from accounts.tests.factories import HospitalFactory
from appointments.demo import DOCTOR_PASSWORD, seed_appointments
from appointments.models import Doctor, OpdSchedule, Slot
from appointments.tests.factories import AppointmentFactory, OpdScheduleFactory, SlotFactory

pytestmark = pytest.mark.django_db


def test_seed_appointments_is_idempotent_and_doctor_can_sign_in(api):
    hospitals = [HospitalFactory(), HospitalFactory()]
    out = StringIO()
    doctors = seed_appointments(hospitals=hospitals, stdout=out)
    assert len(doctors) == 4 and "doctor / Doctor-Pass-2026" in out.getvalue()
    main = Doctor.objects.get(user__username="doctor")
    assert main.hospital_id == hospitals[0].pk and main.user.role == "doctor"
    slots = Slot.objects.count()
    assert slots > 0 and OpdSchedule.objects.count() == 4
    assert Slot.objects.filter(hospital_id__in=[h.pk for h in hospitals]).count() == slots

    seed_appointments(hospitals=hospitals, stdout=StringIO())
    assert Doctor.objects.count() == 4 and OpdSchedule.objects.count() == 4 and Slot.objects.count() == slots

    login = api.post("/auth/login", {"username": "doctor", "password": DOCTOR_PASSWORD})
    assert login.status_code == 200 and login.json()["user"]["role"] == "doctor"


def test_admin_site_pages_render(admin_site, slot, doctor):
    AppointmentFactory(slot=slot)
    OpdScheduleFactory(doctor=doctor)
    client = admin_site
    for model in ("doctor", "opdschedule", "slot", "appointment", "visit"):
        assert client.get(f"/admin/appointments/{model}/").status_code == 200, model
    assert client.get(f"/admin/appointments/slot/{slot.pk}/change/").status_code == 200
    assert client.get(f"/admin/appointments/appointment/{slot.appointments.get().pk}/change/").status_code == 200


def test_admin_site_cannot_delete_or_add_appointments(admin_site, slot):
    appointment = AppointmentFactory(slot=slot)
    client = admin_site
    assert client.get("/admin/appointments/appointment/add/").status_code == 403
    assert client.post(f"/admin/appointments/appointment/{appointment.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.post(f"/admin/appointments/slot/{SlotFactory(doctor=slot.doctor).pk}/delete/").status_code == 403


def test_admin_site_lists_holds_read_only(admin_site, slot, patient):
    from conftest import client_for

    hold_id = client_for(patient).post(f"/api/v1/slots/{slot.pk}/hold", {}, format="json").json()["id"]
    assert admin_site.get("/admin/appointments/hold/").status_code == 200
    assert admin_site.get(f"/admin/appointments/hold/{hold_id}/change/").status_code == 200
    assert admin_site.get("/admin/appointments/hold/add/").status_code == 403
    assert admin_site.post(f"/admin/appointments/hold/{hold_id}/delete/", {"post": "yes"}).status_code == 403
    assert slot.holds.get().status == "active"
