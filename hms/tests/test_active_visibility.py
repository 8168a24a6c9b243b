"""Deactivated rows are visible to administrators only: one declaration (`active_lookups`) on the
scoping mixin, for every viewset whose rows hang off a hospital, a blood bank or an account."""

import pytest

from accounts.models import User
from accounts.tests.factories import HospitalFactory
from appointments.tests.factories import DoctorFactory, OpdScheduleFactory, SlotFactory
from bloodbank.models import BloodBank
from bloodbank.tests.factories import BloodBankFactory
from conftest import client_for
from hospitals.models import Hospital
from hospitals.tests.factories import BedFactory, FloorFactory, WardFactory

pytestmark = pytest.mark.django_db


def _deactivate_hospital(row):
    Hospital.objects.filter(pk=row.hospital_id).update(is_active=False)
    return row


def _deactivated_hospital(hospital):
    Hospital.objects.filter(pk=hospital.pk).update(is_active=False)
    return hospital


def _doctor_with_deactivated_account(hospital):
    doctor = DoctorFactory(hospital=hospital)
    User.objects.filter(pk=doctor.user_id).update(is_active=False)
    return doctor


def _deactivated_bank(hospital):
    bank = BloodBankFactory(hospital=hospital)
    BloodBank.objects.filter(pk=bank.pk).update(is_active=False)
    return bank


ROWS = {
    "hospitals": _deactivated_hospital,
    "floors": lambda hospital: _deactivate_hospital(FloorFactory(hospital=hospital)),
    "wards": lambda hospital: _deactivate_hospital(WardFactory(hospital=hospital)),
    "beds": lambda hospital: _deactivate_hospital(BedFactory(ward=WardFactory(hospital=hospital))),
    "doctors": lambda hospital: _deactivate_hospital(DoctorFactory(hospital=hospital)),
    "doctors-without-account": _doctor_with_deactivated_account,
    "opd-schedules": lambda hospital: _deactivate_hospital(OpdScheduleFactory(doctor=DoctorFactory(hospital=hospital))),
    "slots": lambda hospital: _deactivate_hospital(SlotFactory(doctor=DoctorFactory(hospital=hospital))),
    "blood-banks": _deactivated_bank,
}


def _route(name: str) -> str:
    return "/api/v1/" + name.removesuffix("-without-account")


@pytest.mark.parametrize("name", list(ROWS))
def test_deactivated_rows_are_404_to_everyone_but_administrators(
    name, api, hospital_admin, patient_client, admin_client
):
    hospital = HospitalFactory(is_multi_level=True)
    hospital_admin.hospital = hospital
    hospital_admin.save(update_fields=["hospital"])
    row = ROWS[name](hospital)
    detail = f"{_route(name)}/{row.pk}"
    for client in (api, patient_client, client_for(hospital_admin)):
        assert client.get(detail).status_code == 404, detail
        listed = client.get(_route(name), {"page_size": 100}).json()["results"]
        assert row.pk not in [item["id"] for item in listed], name
    response = admin_client.get(detail)
    assert response.status_code == 200, response.content
    assert response.json()["id"] == row.pk
