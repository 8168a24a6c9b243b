"""The admin and hospital-admin dashboards are kept on the shared cache until the next committed write.

These run with real transactions (`transaction=True`): invalidation happens when a write commits.
"""

from unittest import mock

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from accounts.tests.factories import UserFactory
from conftest import client_for
from hms.api import readcache
from hospitals.models import Bed, BedStatus
from hospitals.tests.factories import BedFactory, WardFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _cache_on(settings):
    settings.DASHBOARD_CACHE_SECONDS = 30


def _dashboard(client):
    response = client.get("/api/v1/dashboard")
    assert response.status_code == 200, response.content
    return response.json()


def test_admin_dashboard_is_served_from_the_cache_until_something_changes(admin_user, hospital):
    BedFactory(ward=WardFactory(hospital=hospital))
    client = client_for(admin_user)
    first = _dashboard(client)
    with CaptureQueriesContext(connection) as captured:
        second = _dashboard(client)
    assert second == first  # same figures, same as_of: computed once
    # The token's user, then the cache (generation and figures in one read): no aggregate ran.
    assert not any("COUNT(" in query["sql"] for query in captured.captured_queries)


def test_a_write_through_the_api_is_seen_by_the_next_admin_dashboard(admin_user, hospital, hospital_admin):
    bed = BedFactory(ward=WardFactory(hospital=hospital))
    admin = client_for(admin_user)
    before = _dashboard(admin)
    assert before["beds_by_status"]["available"] == 1

    response = client_for(hospital_admin).post(f"/api/v1/beds/{bed.pk}/status", {"status": "maintenance"})
    assert response.status_code == 200, response.content

    after = _dashboard(admin)
    assert after["beds_by_status"]["available"] == 0
    assert after["beds_by_status"]["maintenance"] == 1
    assert after["as_of"] > before["as_of"]


def test_a_registration_is_counted_by_the_next_admin_dashboard(admin_user, api):
    admin = client_for(admin_user)
    before = _dashboard(admin)["users_by_role"]["user"]
    response = api.post(
        "/api/v1/auth/register",
        {"username": "newpatient", "email": "new@example.com", "password": "Str0ng-Pass-2026", "fullname": "New"},
    )
    assert response.status_code == 201, response.content
    assert _dashboard(admin)["users_by_role"]["user"] == before + 1


def test_the_hospital_admin_dashboard_sees_a_bed_added_through_the_api(hospital, hospital_admin):
    ward = WardFactory(hospital=hospital)
    client = client_for(hospital_admin)
    before = _dashboard(client)["beds_by_status"]["available"]
    response = client.post("/api/v1/beds", {"ward_id": ward.pk, "bed_number": "NEW-1"})
    assert response.status_code == 201, response.content
    assert _dashboard(client)["beds_by_status"]["available"] == before + 1


def test_a_model_saved_outside_the_api_invalidates_too(admin_user, hospital):
    """The Django admin site saves models directly: post_save counts as a write."""
    bed = BedFactory(ward=WardFactory(hospital=hospital))
    admin = client_for(admin_user)
    assert _dashboard(admin)["beds_by_status"]["cleaning"] == 0
    bed.status = BedStatus.CLEANING
    bed.save()
    assert _dashboard(admin)["beds_by_status"]["cleaning"] == 1


def test_a_rolled_back_write_leaves_the_cached_figures_in_place(admin_user, hospital):
    BedFactory(ward=WardFactory(hospital=hospital))
    admin = client_for(admin_user)
    first = _dashboard(admin)
    with pytest.raises(RuntimeError), transaction.atomic():
        Bed.objects.update(status=BedStatus.MAINTENANCE)
        readcache.writes_committed()
        raise RuntimeError("the write fails after its first statement")
    assert _dashboard(admin) == first


def test_one_transaction_with_many_writes_advances_the_generation_once():
    with transaction.atomic():
        for _ in range(5):
            readcache.writes_committed()
        flush = connections["default"].__dict__["_hms_flush"]
        pending = [func for _sids, func, _robust in connection.run_on_commit if func is flush]
        assert len(pending) == 1


def test_figures_are_computed_directly_when_the_cache_is_down(admin_user, hospital):
    BedFactory(ward=WardFactory(hospital=hospital))
    with mock.patch.object(readcache.cache, "get_many", side_effect=ConnectionError("cache down")):
        body = _dashboard(client_for(admin_user))
    assert body["beds_by_status"]["available"] == 1


def test_patient_dashboards_are_never_cached(patient):
    """Per-user figures are cheap and always live."""
    client = client_for(patient)
    first = _dashboard(client)
    second = _dashboard(client)
    assert second["as_of"] > first["as_of"]


def test_with_the_cache_off_every_admin_request_computes(settings, admin_user):
    settings.DASHBOARD_CACHE_SECONDS = 0
    client = client_for(admin_user)
    assert _dashboard(client)["as_of"] < _dashboard(client)["as_of"]


def test_a_deactivated_user_leaves_the_admin_counts(admin_user):
    someone = UserFactory(role="donor")
    admin = client_for(admin_user)
    before = _dashboard(admin)["users_by_role"]["donor"]
    response = admin.delete(f"/api/v1/users/{someone.pk}")
    assert response.status_code == 204, response.content
    assert _dashboard(admin)["users_by_role"]["donor"] == before - 1
