"""Dashboards count a bed whose reservation has lapsed as available, whether or not a job has run."""

import datetime

import pytest
import time_machine
from django.utils import timezone

from conftest import client_for
from hospitals.tests.factories import BedFactory, WardFactory

pytestmark = pytest.mark.django_db


def test_a_lapsed_reservation_counts_as_available_on_the_dashboards(hospital, hospital_admin, admin_user, patient):
    bed = BedFactory(ward=WardFactory(hospital=hospital))
    until = timezone.now() + datetime.timedelta(hours=2)
    staff = client_for(hospital_admin)
    body = {"patient_id": patient.pk, "until": until.isoformat()}
    assert staff.post(f"/api/v1/beds/{bed.pk}/reserve", body, format="json").status_code == 200
    for client in (staff, client_for(admin_user)):
        assert client.get("/api/v1/dashboard").json()["beds_by_status"]["reserved"] == 1
    with time_machine.travel(until + datetime.timedelta(minutes=1)):
        for client in (client_for(hospital_admin), client_for(admin_user)):
            figures = client.get("/api/v1/dashboard").json()["beds_by_status"]
            assert (figures["reserved"], figures["available"]) == (0, 1)
