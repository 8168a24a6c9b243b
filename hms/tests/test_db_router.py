"""The read-replica router (hms/db_router.py) without a real standby: its decisions with the lag probe
mocked, and a second alias pointing at the test database to see which connection a view's queries use.
The streaming replica itself is exercised by bin/replica-check (make replica-check)."""

import socket

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.db import connections, transaction
from django.http import HttpResponse
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from hms import db_router
from hms.db_router import REPLICA, ReadYourWritesMiddleware, ReplicaHealth, ReplicaRouter
from hospitals.models import Hospital

HEALTHY = ReplicaHealth(reachable=True, lag_seconds=0.2)


@pytest.fixture(autouse=True)
def _fresh_probe(monkeypatch):
    monkeypatch.setattr(db_router, "_health", None)


@pytest.fixture
def configured(monkeypatch, settings):
    """A replica that is configured and healthy as far as the router can tell (the probe mocked)."""
    settings.REPLICA_MAX_LAG_SECONDS = 5
    monkeypatch.setattr(db_router, "replica_configured", lambda: True)
    monkeypatch.setattr(db_router, "measure_replica", lambda connection: HEALTHY)


def test_reads_outside_an_opt_in_scope_and_all_writes_go_to_the_primary():
    router = ReplicaRouter()
    assert router.db_for_read(Hospital) == "default"
    assert router.db_for_write(Hospital) == "default"
    assert router.allow_migrate("default", "hospitals") and not router.allow_migrate(REPLICA, "hospitals")


def test_nothing_changes_when_no_replica_is_configured():
    assert not db_router.replica_configured()
    assert db_router.replica_health() is None
    with db_router.replica_scope(AnonymousUser()) as scope:
        assert not scope.allowed
        assert ReplicaRouter().db_for_read(Hospital) == "default"


def test_an_opted_in_read_goes_to_the_replica(configured):
    with db_router.replica_scope(AnonymousUser()) as scope:
        assert ReplicaRouter().db_for_read(Hospital) == REPLICA
        assert scope.used and db_router.replica_used()
    assert not db_router.replica_used()
    assert ReplicaRouter().db_for_read(Hospital) == "default"


def test_cache_table_reads_stay_on_the_primary(configured):
    from django.core.cache.backends.db import DatabaseCache

    with db_router.replica_scope(AnonymousUser()):
        assert ReplicaRouter().db_for_read(DatabaseCache("hms_cache", {}).cache_model_class) == "default"


@pytest.mark.django_db(transaction=True)
def test_reads_inside_a_transaction_go_to_the_primary(configured):
    with db_router.replica_scope(AnonymousUser()) as scope:
        assert scope.allowed
        with transaction.atomic():
            assert ReplicaRouter().db_for_read(Hospital) == "default"
        assert ReplicaRouter().db_for_read(Hospital) == REPLICA
    with transaction.atomic(), db_router.replica_scope(AnonymousUser()) as scope:
        assert not scope.allowed  # opened inside a transaction (ATOMIC_REQUESTS, a service)


@pytest.mark.django_db(transaction=True)
def test_a_user_who_just_wrote_reads_from_the_primary(configured, settings, patient, other_patient):
    settings.READ_YOUR_WRITES_SECONDS = 10
    middleware = ReadYourWritesMiddleware(lambda request: HttpResponse(status=201))
    request = RequestFactory().post("/api/v1/anything")
    request.user = patient
    middleware(request)
    assert db_router.wrote_recently(patient) and not db_router.wrote_recently(other_patient)
    assert not db_router.replica_allowed(patient)
    assert db_router.replica_allowed(other_patient) and db_router.replica_allowed(AnonymousUser())
    cache.delete(db_router._wrote_key(patient.pk))  # READ_YOUR_WRITES_SECONDS later
    assert db_router.replica_allowed(patient)


@pytest.mark.django_db(transaction=True)
def test_failed_and_safe_requests_mark_no_writer(patient):
    for method, status in (("post", 400), ("post", 409), ("get", 200)):
        request = getattr(RequestFactory(), method)("/api/v1/anything")
        request.user = patient
        ReadYourWritesMiddleware(lambda request, status=status: HttpResponse(status=status))(request)
    assert not db_router.wrote_recently(patient)


@pytest.mark.django_db(transaction=True)
def test_the_cache_down_counts_as_a_recent_writer(configured, monkeypatch, patient):
    def broken(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(cache, "get", broken)
    assert not db_router.replica_allowed(patient)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "health",
    [ReplicaHealth(reachable=True, lag_seconds=5.5), ReplicaHealth(reachable=True, lag_seconds=None)],
    ids=["lag_above_the_maximum", "lag_unknown"],
)
def test_a_lagging_replica_is_not_used(configured, monkeypatch, health):
    monkeypatch.setattr(db_router, "measure_replica", lambda connection: health)
    assert not db_router.replica_allowed(AnonymousUser())


@pytest.mark.django_db(transaction=True)
def test_an_unreachable_replica_is_not_used(configured, monkeypatch):
    monkeypatch.setattr(db_router, "measure_replica", lambda connection: ReplicaHealth(False, None))
    assert not db_router.replica_allowed(AnonymousUser())


def test_the_lag_is_measured_at_most_once_a_second_per_process(configured, monkeypatch):
    calls = []
    monkeypatch.setattr(db_router, "measure_replica", lambda connection: calls.append(1) or HEALTHY)
    assert db_router.replica_health() == HEALTHY and db_router.replica_health() == HEALTHY
    assert len(calls) == 1
    db_router.replica_health(fresh=True)
    assert len(calls) == 2


@pytest.mark.django_db
def test_the_probe_reads_zero_lag_on_a_server_that_is_not_a_standby():
    assert db_router.measure_replica(connections["default"]) == ReplicaHealth(reachable=True, lag_seconds=0.0)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "answer, health",
    [
        ("true, 'streaming', 0.4", ReplicaHealth(reachable=True, lag_seconds=0.4)),
        ("true, 'hidden', 0", ReplicaHealth(reachable=True, lag_seconds=0.0)),  # no pg_read_all_stats
        ("true, NULL, 0", ReplicaHealth(reachable=True, lag_seconds=None, link_lost=True)),
        ("true, 'waiting', 0", ReplicaHealth(reachable=True, lag_seconds=None, link_lost=True)),
        ("true, 'restarting', 0", ReplicaHealth(reachable=True, lag_seconds=None, link_lost=True)),
        ("false, NULL, 0", ReplicaHealth(reachable=True, lag_seconds=0.0)),  # not a standby
    ],
    ids=["streaming", "status_hidden", "no_wal_receiver", "receiver_waiting", "receiver_restarting", "primary"],
)
def test_a_standby_without_a_streaming_wal_receiver_has_no_known_lag(monkeypatch, settings, answer, health):
    # Having replayed all it received, a standby cut off from its primary computes a lag of 0 from its
    # LSNs: what tells is pg_stat_wal_receiver (the probe's SQL answer mocked, run on the real server).
    settings.REPLICA_MAX_LAG_SECONDS = 5
    monkeypatch.setattr(db_router, "LAG_SQL", f"SELECT {answer}")
    measured = db_router.measure_replica(connections["default"])
    assert measured == health
    assert measured.usable == (not health.link_lost)


def test_the_probe_reports_an_unreachable_server():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings_dict = {**connections["default"].settings_dict, "HOST": "127.0.0.1", "PORT": closed_port}
    unreachable = type(connections["default"])(settings_dict, alias="replica-probe-test")
    assert db_router.measure_replica(unreachable) == ReplicaHealth(reachable=False, lag_seconds=None)


# --- a second alias on the test database: which connection the views' queries use ---------------------


@pytest.fixture
def replica_alias(transactional_db, settings, monkeypatch):
    """`replica` pointing at the test database, the router and middleware installed as settings does
    (the connection set on the handler, not in its settings: Django's test case would refuse an alias
    it did not know at set-up)."""
    connections[REPLICA] = type(connections["default"])({**connections["default"].settings_dict}, alias=REPLICA)
    monkeypatch.setattr(db_router, "replica_configured", lambda: True)
    settings.DATABASE_ROUTERS = ["hms.db_router.ReplicaRouter"]
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "hms.db_router.ReadYourWritesMiddleware"]
    settings.REPLICA_MAX_LAG_SECONDS = 5
    settings.READ_YOUR_WRITES_SECONDS = 10
    yield connections[REPLICA]
    connections[REPLICA].close()
    del connections[REPLICA]


def test_public_hospital_reads_are_served_by_the_replica(replica_alias, api, hospital):
    with CaptureQueriesContext(replica_alias) as on_replica:
        assert api.get("/api/v1/hospitals").status_code == 200
        assert api.get(f"/api/v1/hospitals/{hospital.pk}").status_code == 200
    assert any('"hospitals_hospital"' in query["sql"] for query in on_replica.captured_queries)


def test_other_reads_stay_on_the_primary(replica_alias, admin_client):
    with CaptureQueriesContext(replica_alias) as on_replica:
        assert admin_client.get("/api/v1/system/status").status_code == 200
    assert not [query for query in on_replica.captured_queries if "pg_is_in_recovery" not in query["sql"]]


def test_after_a_write_the_writer_reads_the_primary_and_others_the_replica(
    replica_alias, patient_client, other_patient_client, hospital
):
    assert patient_client.post("/api/v1/notifications/read-all").status_code == 200
    with CaptureQueriesContext(replica_alias) as on_replica:
        assert patient_client.get("/api/v1/hospitals").status_code == 200
    assert not on_replica.captured_queries
    with CaptureQueriesContext(replica_alias) as on_replica:
        assert other_patient_client.get("/api/v1/hospitals").status_code == 200
    assert on_replica.captured_queries


def test_a_replica_failing_mid_request_is_answered_from_the_primary(replica_alias, hospital):
    # A view of this test's own, marked as the public views are: the hospital views read their rows in
    # ways that change (hand-written SQL, selectors); the fallback is the decorator's.
    from django.db import OperationalError
    from rest_framework.permissions import AllowAny
    from rest_framework.response import Response
    from rest_framework.views import APIView

    calls = []

    @db_router.replica_reads("get")
    class HospitalName(APIView):
        authentication_classes, permission_classes = [], [AllowAny]

        def get(self, request):
            calls.append(ReplicaRouter().db_for_read(Hospital))
            if len(calls) == 1:
                raise OperationalError("the standby went away")
            return Response({"name": Hospital.objects.get(pk=hospital.pk).name})

    with CaptureQueriesContext(connections["default"]) as on_primary:
        response = HospitalName.as_view()(RequestFactory().get("/anything"))
    assert response.status_code == 200 and response.data == {"name": hospital.name}
    assert calls == [REPLICA, "default"]
    assert any('"hospitals_hospital"' in query["sql"] for query in on_primary.captured_queries)
    assert db_router.replica_health() == ReplicaHealth(reachable=False, lag_seconds=None)


# --- /api/v1/system/status ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_status_shows_no_replica_when_none_is_configured(admin_client):
    assert admin_client.get("/api/v1/system/status").json()["database"]["replica"] is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    "health, shown",
    [
        (ReplicaHealth(True, 0.25), {"lag_seconds": 0.25, "reachable": True, "link_lost": False, "in_use": True}),
        (ReplicaHealth(True, 42.0), {"lag_seconds": 42.0, "reachable": True, "link_lost": False, "in_use": False}),
        (ReplicaHealth(False, None), {"lag_seconds": None, "reachable": False, "link_lost": False, "in_use": False}),
    ],
)
def test_status_shows_the_replica_lag(configured, monkeypatch, admin_client, health, shown):
    monkeypatch.setattr(db_router, "measure_replica", lambda connection: health)
    assert admin_client.get("/api/v1/system/status").json()["database"]["replica"] == shown


def test_status_shows_a_standby_that_lost_its_primary_as_not_in_use(
    replica_alias, monkeypatch, api, admin_client, hospital
):
    monkeypatch.setattr(db_router, "LAG_SQL", "SELECT true, NULL::text, 0")  # no WAL receiver
    assert admin_client.get("/api/v1/system/status").json()["database"]["replica"] == {
        "lag_seconds": None,
        "reachable": True,
        "link_lost": True,
        "in_use": False,
    }
    with CaptureQueriesContext(replica_alias) as on_replica:
        assert api.get(f"/api/v1/hospitals/{hospital.pk}").status_code == 200
    assert not [query for query in on_replica.captured_queries if "SELECT true" not in query["sql"]]
