"""The light reads kept on the shared cache (READ_CACHE_SECONDS): the user behind an access token, bed
availability and blood stock are served from the cache only while no write has committed since.

Real transactions (`transaction=True`): invalidation happens when a write commits. Every test first
shows that the read is served from the cache, so that the next step proves the write invalidated it.
"""

import datetime

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import User
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.utils import assert_error, bearer, login
from bloodbank.tests.factories import BloodBankFactory, StockLotFactory
from conftest import client_for
from hospitals.tests.factories import BedFactory, WardFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _cache_on(settings):
    settings.READ_CACHE_SECONDS = 30


def _queries(client, path):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    return response, [query["sql"] for query in captured.captured_queries]


def _reads_users(sqls) -> bool:
    return any('FROM "accounts_user"' in sql for sql in sqls)


# --- the user behind an access token ----------------------------------------------------------------


def _cached_session(api, user):
    """A logged-in client whose token's user is now on the cache (the second request reads no user row)."""
    client = bearer(login(api, user.username, PASSWORD).json()["access"])
    assert client.get("/auth/profile").status_code == 200
    response, sqls = _queries(client, "/auth/profile")
    assert response.status_code == 200
    assert not _reads_users(sqls), sqls
    return client


def test_the_token_user_is_read_once_and_never_cached_with_the_password(api, patient):
    client = _cached_session(api, patient)
    assert client.get("/auth/profile").json()["username"] == patient.username
    token = client._credentials["HTTP_AUTHORIZATION"].split()[1]
    entry = cache.get(f"hms:token-user:{patient.pk}:{AccessToken(token)['jti']}")
    assert entry is not None
    assert patient.password not in [value for value in entry[1] if isinstance(value, str)]


def test_logout_refuses_the_cached_token_at_once(api, patient):
    client = _cached_session(api, patient)
    assert client.post("/auth/logout", {}, format="json").status_code == 200
    assert_error(client.get("/auth/profile"), 401)


def test_a_password_change_refuses_the_cached_tokens_issued_before(api, patient):
    other = _cached_session(api, patient)
    client = _cached_session(api, patient)
    response = client.post(
        "/auth/change-password", {"old_password": PASSWORD, "new_password": "Brand-New-Pass-5"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert_error(other.get("/auth/profile"), 401)
    assert bearer(response.json()["access"]).get("/auth/profile").status_code == 200


def test_a_deactivated_user_is_refused_at_once(api, admin_user, patient):
    client = _cached_session(api, patient)
    assert client_for(admin_user).delete(f"/api/v1/users/{patient.pk}").status_code == 204
    assert_error(client.get("/auth/profile"), 401)


def test_a_role_change_applies_to_the_next_request(api, admin_user, hospital):
    staff = UserFactory(role="hospital_admin", hospital=hospital)
    client = _cached_session(api, staff)
    assert client.get("/api/v1/users").status_code == 200
    response = client_for(admin_user).patch(
        f"/api/v1/users/{staff.pk}", {"role": "user", "hospital_id": None}, format="json"
    )
    assert response.status_code == 200, response.content
    assert client.get("/auth/profile").json()["role"] == "user"
    assert_error(client.get("/api/v1/users"), 403)


def test_a_user_row_changed_outside_the_api_is_seen_next_request(api, patient):
    """The Django admin site saves models: post_save counts as a write."""
    client = _cached_session(api, patient)
    user = User.objects.get(pk=patient.pk)
    user.is_active = False
    user.save()
    assert_error(client.get("/auth/profile"), 401)


def test_writes_to_other_things_leave_the_token_user_on_the_cache(api, patient):
    """Only writes to accounts invalidate kept token users: a booking does not (its next request reads no user row)."""
    from appointments.tests.factories import SlotFactory

    client = _cached_session(api, patient)
    slot = SlotFactory(start=timezone.now() + datetime.timedelta(hours=3))
    response = client.post("/api/v1/appointments", {"slot_id": slot.pk}, format="json")
    assert response.status_code == 201, response.content
    response, sqls = _queries(client, "/auth/profile")
    assert response.status_code == 200
    assert not _reads_users(sqls), sqls


# --- bed availability -------------------------------------------------------------------------------


def test_availability_is_cached_and_a_bed_status_change_is_seen_next(api, hospital, hospital_admin):
    bed = BedFactory(ward=WardFactory(hospital=hospital))
    path = f"/api/v1/hospitals/{hospital.pk}/availability"
    first = api.get(path).json()
    assert first["by_status"]["available"] == 1
    response, sqls = _queries(api, path)
    assert response.json()["by_status"] == first["by_status"]
    assert not any("COUNT(" in sql for sql in sqls), sqls

    response = client_for(hospital_admin).post(f"/api/v1/beds/{bed.pk}/status", {"status": "maintenance"})
    assert response.status_code == 200, response.content
    after = api.get(path).json()
    assert after["by_status"]["available"] == 0
    assert after["by_status"]["maintenance"] == 1


def test_availability_cached_for_the_public_is_not_served_to_an_admin_nor_kept_after_deactivation(
    api, admin_user, hospital
):
    BedFactory(ward=WardFactory(hospital=hospital))
    path = f"/api/v1/hospitals/{hospital.pk}/availability"
    admin = client_for(admin_user)
    assert api.get(path).status_code == 200
    assert api.get(path).status_code == 200  # served from the cache
    assert admin.delete(f"/api/v1/hospitals/{hospital.pk}").status_code == 204
    assert_error(api.get(path), 404)
    # The administrator still sees a deactivated hospital (to reactivate it); the public's 404 is theirs only.
    assert admin.get(path).status_code == 200
    assert_error(api.get(path), 404)


# --- blood stock ------------------------------------------------------------------------------------


def test_stock_is_cached_and_a_lot_added_through_the_api_is_counted_next(api, hospital, hospital_admin):
    bank = BloodBankFactory(hospital=hospital)
    StockLotFactory(blood_bank=bank, blood_group="A+", units=5)
    path = f"/api/v1/blood-banks/{bank.pk}/stock"
    assert api.get(path).json()["items"][0]["units"] == 5
    response, sqls = _queries(api, path)
    assert response.json()["items"][0]["units"] == 5
    assert not any("SUM(" in sql for sql in sqls), sqls

    response = client_for(hospital_admin).post(path, {"blood_group": "A+", "units": 3})
    assert response.status_code == 201, response.content
    assert sum(item["units"] for item in api.get(path).json()["items"]) == 8


def test_cached_stock_does_not_outlive_the_day_its_lots_expire(api, hospital, settings):
    settings.READ_CACHE_SECONDS = 7 * 24 * 3600  # the entry itself outlives the two days travelled
    bank = BloodBankFactory(hospital=hospital)
    today = timezone.localdate()
    StockLotFactory(blood_bank=bank, blood_group="O-", units=2, expires_on=today + datetime.timedelta(days=1))
    path = f"/api/v1/blood-banks/{bank.pk}/stock"
    assert api.get(path).json()["items"][0]["units"] == 2
    assert api.get(path).json()["items"][0]["units"] == 2  # served from the cache
    # The lot expires at the end of tomorrow: the day after, with no write in between, it is not usable.
    with time_machine.travel(timezone.now() + datetime.timedelta(days=2)):
        assert api.get(path).json()["items"] == []


# --- a patient's dashboard --------------------------------------------------------------------------


def test_a_patients_dashboard_is_cached_and_shows_a_booking_at_once(patient):
    from appointments.tests.factories import SlotFactory

    client = client_for(patient)
    first = client.get("/api/v1/dashboard").json()
    assert first["upcoming_appointments"] == []
    response, sqls = _queries(client, "/api/v1/dashboard")
    assert response.json() == first  # same as_of: computed once
    assert not any("appointments_appointment" in sql for sql in sqls), sqls

    slot = SlotFactory(start=timezone.now() + datetime.timedelta(hours=3))
    response = client.post("/api/v1/appointments", {"slot_id": slot.pk}, format="json")
    assert response.status_code == 201, response.content
    upcoming = client.get("/api/v1/dashboard").json()["upcoming_appointments"]
    assert [row["id"] for row in upcoming] == [response.json()["id"]]


def test_a_patients_cached_dashboard_drops_an_appointment_once_it_has_started(patient, settings):
    """No write happens when an appointment's time comes: the cached figures must not outlive it."""
    settings.READ_CACHE_SECONDS = 24 * 3600  # the entry itself outlives the two hours travelled
    from appointments.tests.factories import AppointmentFactory, SlotFactory

    soon = AppointmentFactory(patient=patient, slot=SlotFactory(start=timezone.now() + datetime.timedelta(hours=1)))
    later = AppointmentFactory(patient=patient, slot=SlotFactory(start=timezone.now() + datetime.timedelta(hours=5)))
    client = client_for(patient)
    ids = [row["id"] for row in client.get("/api/v1/dashboard").json()["upcoming_appointments"]]
    assert ids == [soon.pk, later.pk]
    with time_machine.travel(timezone.now() + datetime.timedelta(hours=2)):
        client = client_for(patient)  # a token valid at that time
        ids = [row["id"] for row in client.get("/api/v1/dashboard").json()["upcoming_appointments"]]
    assert ids == [later.pk]


def test_one_patients_cached_dashboard_is_never_served_to_another(patient, other_patient):
    from appointments.tests.factories import AppointmentFactory, SlotFactory

    mine = AppointmentFactory(patient=patient, slot=SlotFactory(start=timezone.now() + datetime.timedelta(hours=1)))
    assert [row["id"] for row in client_for(patient).get("/api/v1/dashboard").json()["upcoming_appointments"]] == [
        mine.pk
    ]
    assert client_for(other_patient).get("/api/v1/dashboard").json()["upcoming_appointments"] == []


# --- the shared cache down ----------------------------------------------------------------------


def test_with_the_shared_cache_down_reads_are_served_and_throttled_writes_are_503(patient, hospital):
    from django.test import override_settings

    from appointments.tests.factories import SlotFactory

    slot = SlotFactory(start=timezone.now() + datetime.timedelta(hours=3))
    BedFactory(ward=WardFactory(hospital=hospital))
    client = client_for(patient)
    client.raise_request_exception = False  # a 503 is reported as a server error, as a lost database is
    unreachable = {"default": {"BACKEND": "hms.api.cache.RedisCache", "LOCATION": "redis://127.0.0.1:9/0"}}
    with override_settings(CACHES=unreachable):
        # The token's user and the counts come from the database instead.
        response = client.get(f"/api/v1/hospitals/{hospital.pk}/availability")
        assert response.status_code == 200, response.content
        assert response.json()["by_status"]["available"] == 1
        assert client.get("/api/v1/dashboard").status_code == 200
        # The booking throttle cannot count: a clear 503 (retry later), never a 500 or a booking unthrottled.
        response = client.post("/api/v1/appointments", {"slot_id": slot.pk}, format="json")
        assert_error(response, 503, code="service_unavailable")
        assert response["Retry-After"] == "5"
    slot.refresh_from_db()
    assert slot.booked == 0


# --- bookable slot listings -------------------------------------------------------------------------


def _slot_page(client, query):
    response = client.get(f"/api/v1/slots?{query}")
    assert response.status_code == 200, response.content
    return response.json()


def test_a_kept_slot_page_is_the_page_computed_afresh(api, settings):
    from appointments.tests.factories import DoctorFactory, SlotFactory

    doctor = DoctorFactory()
    for hours in range(1, 6):
        SlotFactory(doctor=doctor, start=timezone.now() + datetime.timedelta(hours=hours))
    queries = [
        "available=true",
        "available=true&page_size=2",
        "available=true&page_size=2&page=2",
        "available=true&page_size=2&page=3",
        f"available=true&hospital_id={doctor.hospital_id}&ordering=-start&page_size=3&page=2",
    ]
    settings.READ_CACHE_SECONDS = 0
    fresh = {query: _slot_page(api, query) for query in queries}
    settings.READ_CACHE_SECONDS = 30
    for query in queries:
        assert _slot_page(api, query) == fresh[query], query  # computed and kept
        response, sqls = _queries(api, f"/api/v1/slots?{query}")
        assert response.json() == fresh[query], query  # served from the cache
        assert not any("appointments_slot" in sql for sql in sqls), sqls
    middle = fresh["available=true&page_size=2&page=2"]  # the links were compared too: a middle page has both
    assert middle["next"] and middle["previous"] and fresh["available=true"]["count"] == 5


def test_a_booking_is_seen_by_the_next_slot_listing(patient):
    from appointments.tests.factories import SlotFactory

    slot = SlotFactory(start=timezone.now() + datetime.timedelta(hours=3), capacity=1)
    client = client_for(patient)
    assert [row["id"] for row in _slot_page(client, "available=true")["results"]] == [slot.pk]
    assert _slot_page(client, "available=true")["count"] == 1  # served from the cache
    response = client.post("/api/v1/appointments", {"slot_id": slot.pk}, format="json")
    assert response.status_code == 201, response.content
    page = _slot_page(client, "available=true")
    assert page["count"] == 0 and page["results"] == []  # full now: no longer bookable


def test_a_kept_slot_listing_drops_a_slot_once_it_has_started(api, settings):
    from appointments.tests.factories import SlotFactory

    settings.READ_CACHE_SECONDS = 24 * 3600  # the entry itself outlives the two hours travelled
    soon = SlotFactory(start=timezone.now() + datetime.timedelta(hours=1))
    later = SlotFactory(start=timezone.now() + datetime.timedelta(hours=5))
    assert [row["id"] for row in _slot_page(api, "available=true")["results"]] == [soon.pk, later.pk]
    with time_machine.travel(timezone.now() + datetime.timedelta(hours=2)):
        page = _slot_page(api, "available=true")
    assert page["count"] == 1
    assert [row["id"] for row in page["results"]] == [later.pk]


def test_bad_slot_queries_are_still_refused_and_other_listings_are_not_kept(api):
    from appointments.tests.factories import SlotFactory

    SlotFactory(start=timezone.now() + datetime.timedelta(hours=1))
    for _ in range(2):
        assert_error(api.get("/api/v1/slots?available=true&hospital_id=abc"), 400)
        assert_error(api.get("/api/v1/slots?available=true&page=9"), 404)
    _slot_page(api, "available=false")
    response, sqls = _queries(api, "/api/v1/slots?available=false")
    assert response.status_code == 200
    assert any("appointments_slot" in sql for sql in sqls)


def test_the_redis_backend_keeps_one_client_per_pool():
    """hms.api.cache: Django builds a redis client per cache call; ours reuses one per pool (no server needed)."""
    from hms.api.cache import RedisCache

    backend = RedisCache("redis://127.0.0.1:9/0;redis://127.0.0.1:10/0", {})
    writer = backend._cache.get_client(write=True)
    assert backend._cache.get_client(write=True) is writer
    assert writer.connection_pool.connection_kwargs["port"] == 9  # writes go to the first server
    assert backend._cache.get_client(write=False).connection_pool.connection_kwargs["port"] in (9, 10)


# --- hospital listings ------------------------------------------------------------------------------


def test_a_kept_hospital_page_is_the_page_computed_afresh_and_a_write_is_seen_next(api, admin_user, hospital, settings):
    from accounts.tests.factories import HospitalFactory

    hospital.city = "Mumbai"
    hospital.save()
    for _ in range(3):
        HospitalFactory(city="Pune")
    queries = ["", "city=pune&page_size=2", "city=pune&page_size=2&page=2", "search=General&ordering=-name"]
    settings.READ_CACHE_SECONDS = 0
    fresh = {query: api.get(f"/api/v1/hospitals?{query}").json() for query in queries}
    settings.READ_CACHE_SECONDS = 30
    for query in queries:
        assert api.get(f"/api/v1/hospitals?{query}").json() == fresh[query], query
        response, sqls = _queries(api, f"/api/v1/hospitals?{query}")
        assert response.json() == fresh[query], query  # served from the cache
        assert not any("hospitals_hospital" in sql for sql in sqls), sqls

    admin = client_for(admin_user)
    response = admin.patch(f"/api/v1/hospitals/{hospital.pk}", {"city": "Pune"}, format="json")
    assert response.status_code == 200, response.content
    assert api.get("/api/v1/hospitals?city=pune&page_size=2").json()["count"] == 4


def test_a_deactivated_hospital_leaves_the_public_list_at_once_and_admins_still_list_it(api, admin_user, hospital):
    admin = client_for(admin_user)
    assert [row["id"] for row in api.get("/api/v1/hospitals").json()["results"]] == [hospital.pk]
    assert [row["id"] for row in admin.get("/api/v1/hospitals").json()["results"]] == [hospital.pk]
    assert admin.delete(f"/api/v1/hospitals/{hospital.pk}").status_code == 204
    assert api.get("/api/v1/hospitals").json()["results"] == []
    # The public's page is not the administrator's: deactivated hospitals are listed for admins on request.
    assert [row["id"] for row in admin.get("/api/v1/hospitals?is_active=false").json()["results"]] == [hospital.pk]
    assert api.get("/api/v1/hospitals?is_active=false").json()["results"] == []


def test_a_bed_status_change_is_seen_by_the_next_hospital_list_filtered_on_beds(api, hospital, hospital_admin):
    bed = BedFactory(ward=WardFactory(hospital=hospital))
    assert api.get("/api/v1/hospitals?has_beds=any").json()["count"] == 1
    assert api.get("/api/v1/hospitals?has_beds=any").json()["count"] == 1  # served from the cache
    response = client_for(hospital_admin).post(f"/api/v1/beds/{bed.pk}/status", {"status": "maintenance"})
    assert response.status_code == 200, response.content
    assert api.get("/api/v1/hospitals?has_beds=any").json()["count"] == 0
