import pytest
from django.test import override_settings

from accounts.activity import record
from accounts.models import Activity
from accounts.tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_activity_is_admin_only(patient_client, hospital_admin_client, api):
    assert patient_client.get("/api/v1/activity").status_code == 403
    assert hospital_admin_client.get("/api/v1/activity").status_code == 403
    assert api.get("/api/v1/activity").status_code == 401


def test_login_events_listed_newest_first_with_filters(api, admin_client, patient):
    api.post("/auth/login", {"username": patient.username, "password": "wrong-password"})
    api.post("/auth/login", {"username": patient.username, "password": PASSWORD}, REMOTE_ADDR="10.1.2.3")
    response = admin_client.get("/api/v1/activity", {"actor_id": patient.pk})
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["action"] for row in rows] == ["login"]
    assert rows[0]["ip"] == "10.1.2.3" and rows[0]["actor_role"] == "user"
    failed = admin_client.get("/api/v1/activity/", {"action": "login_failed"}).json()
    assert failed["count"] == 1 and failed["results"][0]["detail"]["username"] == patient.username


def test_activity_rejects_writes_with_405(admin_client, admin_user):
    entry = record(action="login", actor=admin_user)
    assert admin_client.post("/api/v1/activity", {"action": "login"}).status_code == 405
    assert admin_client.delete(f"/api/v1/activity/{entry.pk}").status_code == 405
    assert admin_client.patch(f"/api/v1/activity/{entry.pk}", {"action": "logout"}).status_code == 405
    assert Activity.objects.filter(pk=entry.pk, action="login").exists()


def test_activity_rows_cannot_be_updated_or_deleted_in_the_database(admin_user):
    from django.db import InternalError, ProgrammingError, transaction

    entry = record(action="login", actor=admin_user)
    with pytest.raises((InternalError, ProgrammingError)), transaction.atomic():
        Activity.objects.filter(pk=entry.pk).update(action="logout")
    with pytest.raises((InternalError, ProgrammingError)), transaction.atomic():
        Activity.objects.filter(pk=entry.pk).delete()
    assert Activity.objects.get(pk=entry.pk).action == "login"


def test_activity_from_to_filters(admin_client, admin_user):
    record(action="login", actor=admin_user)
    assert admin_client.get("/api/v1/activity", {"from": "2000-01-01T00:00:00Z"}).json()["count"] >= 1
    assert admin_client.get("/api/v1/activity", {"to": "2000-01-01T00:00:00Z"}).json()["count"] == 0
    assert admin_client.get("/api/v1/activity", {"from": "not-a-date"}).status_code == 400


def test_my_records_lists_who_accessed_the_callers_records(patient_client, patient, doctor_user):
    record(action="read", actor=doctor_user, object_type="appointment", object_id=7, patient_id=patient.pk)
    record(action="read", actor=doctor_user, object_type="appointment", object_id=8, patient_id=None)
    response = patient_client.get("/api/v1/activity/my-records")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    assert body["results"][0] == {
        "at": body["results"][0]["at"],
        "actor_name": doctor_user.fullname,
        "actor_role": "doctor",
        "action": "read",
        "object_type": "appointment",
        "object_id": 7,
    }


def test_activity_list_query_count_is_constant(admin_client, admin_user, django_assert_max_num_queries):
    for _ in range(30):
        record(action="login", actor=admin_user)
    with django_assert_max_num_queries(4):
        assert admin_client.get("/api/v1/activity?page_size=100").status_code == 200


def test_system_status_for_admin_only(admin_client, patient_client):
    response = admin_client.get("/api/v1/system/status")
    assert response.status_code == 200
    body = response.json()
    assert body["version"] and body["database"]["latency_ms"] >= 0 and body["row_counts"]["user"] >= 1
    assert patient_client.get("/api/v1/system/status").status_code == 403


@override_settings(METRICS_ENABLED=True, METRICS_TOKEN="scrape-secret")
def test_metrics_need_admin_or_metrics_token(api, admin_client, patient_client):
    import importlib

    from django.urls import clear_url_caches

    import hms.urls

    clear_url_caches()
    importlib.reload(hms.urls)
    try:
        assert api.get("/metrics").status_code == 401
        assert patient_client.get("/metrics").status_code == 401
        assert admin_client.get("/metrics").status_code == 200
        scraped = api.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret")
        assert scraped.status_code == 200 and b"python_info" in scraped.content
    finally:
        clear_url_caches()
        importlib.reload(hms.urls)


@pytest.mark.parametrize("name", ["actor_id", "patient_id"])
def test_activity_rejects_id_filter_that_is_not_an_id_with_400(admin_client, name):
    for value in ("1.5", "0", "abc"):
        response = admin_client.get("/api/v1/activity/", {name: value})
        assert response.status_code == 400, value
        assert response.json()["errors"][0]["attr"] == name


def test_activity_from_without_offset_is_400(admin_client):
    response = admin_client.get("/api/v1/activity/", {"from": "2026-01-01T00:00:00"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "from"
