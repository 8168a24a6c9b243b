"""Compiled searches kept by shape (fhir/shapes.py): a search asked again runs the SQL compiled the first
time with the request's own instant, and answers exactly as a search compiled afresh; what the key
leaves out (the instant, the hospitals' time zones) is checked on every reuse."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from rest_framework.test import APIClient

from appointments.tests.factories import AppointmentFactory, SlotFactory
from conftest import client_for
from fhir import shapes
from fhir.compiled import CompiledRows
from fhir.tests.conftest import fhir_json, ids_of
from fhir.types import TYPES, Context
from hospitals.tests.factories import HospitalFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_kept_shapes():
    shapes._kept.clear()
    yield
    shapes._kept.clear()


def _fresh(client, path) -> dict:
    """The answer of a search compiled afresh (nothing kept)."""
    kept = dict(shapes._kept)
    shapes._kept.clear()
    try:
        return fhir_json(client.get(path))
    finally:
        shapes._kept.update(kept)


def _compiles(client, path) -> tuple[dict, int]:
    """The answer and how many times the ORM compiled a search's SQL for it."""
    calls = []
    original = shapes.CompiledRows.__init__

    def counting(self, queryset):
        calls.append(queryset)
        original(self, queryset)

    shapes.CompiledRows.__init__ = counting
    try:
        return fhir_json(client.get(path)), len(calls)
    finally:
        shapes.CompiledRows.__init__ = original


def test_a_search_asked_again_is_not_compiled_again_and_answers_the_same(api, schedule, slot):
    path = f"/fhir/R4/Slot?schedule={schedule.pk}&status=free&start=ge2000-01-01"
    first, compiled = _compiles(api, path)
    assert compiled == 2  # the search, and the same at another instant (its shape is stable)
    assert ids_of(first) == [str(slot.pk)]
    again, compiled = _compiles(api, path)
    assert compiled == 0 and again == first == _fresh(api, path)
    kept = [shape for shape in shapes._kept.values() if isinstance(shape, shapes.Shape)]
    assert len(kept) == 1 and kept[0].now_at  # bookable and held are the instant's parameters


def test_a_kept_search_is_bound_to_the_instant_of_each_request(api, schedule, slot):
    later = SlotFactory(doctor=schedule.doctor, opd_schedule=schedule, start=slot.start + timedelta(hours=1))
    path = f"/fhir/R4/Slot?schedule={schedule.pk}&status=free"
    assert ids_of(fhir_json(api.get(path))) == [str(slot.pk), str(later.pk)]
    # Once the first slot has started it is no longer free: the kept SQL runs with the new instant.
    with time_machine.travel(slot.start + timedelta(seconds=1), tick=False):
        bundle, compiled = _compiles(api, path)
        assert compiled == 0
        assert ids_of(bundle) == [str(later.pk)]
        assert bundle == _fresh(api, path)


def test_callers_do_not_share_a_kept_search(patient, other_patient, slot):
    mine = AppointmentFactory(slot=slot, patient=patient)
    theirs = AppointmentFactory(
        slot=SlotFactory(doctor=slot.doctor, opd_schedule=slot.opd_schedule), patient=other_patient
    )
    path = "/fhir/R4/Appointment?status=booked"
    assert ids_of(fhir_json(client_for(patient).get(path))) == [str(mine.pk)]
    assert ids_of(fhir_json(client_for(other_patient).get(path))) == [str(theirs.pk)]
    assert ids_of(fhir_json(client_for(patient).get(path))) == [str(mine.pk)]


def test_a_new_time_zone_in_use_compiles_a_date_search_again(api, schedule, slot):
    path = f"/fhir/R4/Slot?schedule={schedule.pk}&start=ge2000-01-01"
    first = fhir_json(api.get(path))
    HospitalFactory(timezone="America/New_York" if slot.hospital.timezone != "America/New_York" else "Asia/Tokyo")
    bundle, compiled = _compiles(api, path)
    assert compiled == 2  # the date bounds are made per time zone in use: not the kept parameters
    assert bundle == first == _fresh(api, path)


def test_an_unstable_shape_is_compiled_every_time(api, schedule, slot):
    # A shape whose SQL changes with more than the instant is never reused (nor compiled twice).
    path = f"/fhir/R4/Slot?schedule={schedule.pk}"
    fhir_json(api.get(path))
    assert len(shapes._kept) == 1
    shapes._kept.update(dict.fromkeys(shapes._kept, shapes._UNSTABLE))
    for _ in range(2):
        bundle, compiled = _compiles(api, path)
        assert compiled == 1 and ids_of(bundle) == [str(slot.pk)]


def test_callers_who_see_the_same_hospitals_share_a_public_search(patient, other_patient, doctor_user, schedule, slot):
    path = f"/fhir/R4/Slot?schedule={schedule.pk}&status=free"
    first, compiled = _compiles(client_for(patient), path)
    assert compiled == 2
    for caller in (other_patient, doctor_user, None):
        bundle, compiled = _compiles(client_for(caller) if caller else APIClient(), path)
        assert compiled == 0 and bundle == first


@pytest.mark.parametrize("name", [rtype.name for rtype in TYPES.values() if any(part.public for part in rtype.parts)])
def test_a_public_part_compiles_to_the_same_sql_for_every_caller_but_administrators(
    name, patient, doctor_user, hospital_admin, admin_user, rf
):
    """What lets `public` parts share kept searches: their SQL and parameters do not depend on who
    asks (besides whether the caller sees deactivated hospitals)."""
    rtype = TYPES[name]

    def compiled(user):
        request = rf.get("/")
        request.user = user or AnonymousUser()
        ctx = Context(request)
        return [
            (rows.sql, rows.params)
            for part in rtype.parts
            if part.public
            for rows in [CompiledRows(part.rows(part.queryset(ctx), ctx))]
        ]

    with time_machine.travel(timezone.now(), tick=False):
        sql = {str(user): compiled(user) for user in (patient, doctor_user, hospital_admin, None)}
        assert len({repr(value) for value in sql.values()}) == 1, sql
        assert compiled(admin_user) != sql[str(patient)]  # administrators see deactivated hospitals too
