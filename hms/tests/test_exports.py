"""CSV exports (hms.api.exports): every exported list streams the same rows and values as its JSON
list, with the same visibility; the 31-day window; quoting and the formula guard; the audit entry;
memory that does not grow with the export."""

import csv
import datetime
import io
import itertools
import json
import os
import time

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import Activity
from appointments.tests.factories import AppointmentFactory
from bloodbank.models import StockLot
from bloodbank.tests.factories import BloodBankFactory, StockLotFactory
from emergency.models import Emergency, EmergencyEvent
from emergency.tests.factories import EmergencyFactory
from hms.api.exports import EXPORT_MAX_DAYS, RANGE_INCOMPLETE, RANGE_TOO_LONG
from hospitals.tests.factories import AdmissionFactory, BedFactory
from transfers.models import ReferralEvent
from transfers.tests.factories import ReferralFactory

pytestmark = pytest.mark.django_db

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
NASTY = 'Doe, "Jo"\nsecond line'


def _lists(world) -> dict[str, str]:
    return {
        "appointments": "/api/v1/appointments",
        "admissions": "/api/v1/admissions",
        "activity": "/api/v1/activity",
        "emergencies": "/api/v1/emergencies",
        "stock_lots": f"/api/v1/blood-banks/{world.bank.pk}/lots",
        "referrals": "/api/v1/referrals",
    }


def csv_of(response) -> tuple[list[str], list[dict]]:
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response.streaming
    text = b"".join(response.streaming_content).decode("utf-8")
    reader = csv.reader(io.StringIO(text, newline=""))
    header, *lines = list(reader)
    return header, [dict(zip(header, line, strict=True)) for line in lines]


def json_all(client, path, params=None) -> list[dict]:
    items, page = [], 1
    while True:
        response = client.get(path, {**(params or {}), "page_size": 100, "page": page})
        assert response.status_code == 200, response.content
        body = response.json()
        items += body["results"]
        if not body["next"]:
            return items
        page += 1


def as_cell(value) -> str:
    """What a CSV cell holds for a JSON value (written independently of hms.api.exports)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    elif not isinstance(value, str):
        return str(value)
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def flat(item: dict, header: list[str]) -> dict:
    row = {}
    for column in header:
        value = item
        for part in column.split("."):
            value = None if value is None else value[part]
        row[column] = as_cell(value)
    return row


def assert_header_names_the_json_fields(header: list[str], items: list[dict]):
    """The JSON fields in order, a nested object's fields as `object.field` columns."""
    assert list(dict.fromkeys(column.split(".")[0] for column in header)) == list(items[0])
    for item in items:
        for key, value in item.items():
            if isinstance(value, dict) and key != "detail":
                assert [column for column in header if column.startswith(key + ".")] == [f"{key}.{k}" for k in value]


@pytest.fixture
def rich_world(world):
    """The world plus rows whose text needs quoting or the guard, a nested object left null and an
    emergency with a history of several events."""
    AdmissionFactory(bed=BedFactory(ward=world.ward), patient=None, patient_name=NASTY, reason="=HYPERLINK(1)")
    StockLotFactory(blood_bank=world.bank, lot_number="@SUM(A1:A2)", blood_group="O-", status="expired")
    StockLotFactory(blood_bank=world.bank, lot_number="Ñandú, 血液", component="plasma")
    EmergencyFactory(hospital=world.hospital, reporter=world.patient, patient_name=NASTY, description="-2+3")
    EmergencyEvent.objects.create(
        emergency=world.emergency, status=Emergency.Status.DISPATCHED, note='to "ward", now', actor=world.admin
    )
    Activity.objects.create(action="update", actor=world.admin, object_type="bed", detail={"note": NASTY, "n": 1})
    referral = world.referral  # patient A's one open referral, from `hospital`
    type(referral).objects.filter(pk=referral.pk).update(reason='+fast, "ICU"')
    ReferralEvent.objects.create(referral=referral, status="accepted", note=NASTY, actor=world.admin)
    ReferralFactory(patient=world.other_patient, to_hospital=world.hospital)
    return world


@pytest.mark.parametrize("name", ["appointments", "admissions", "activity", "emergencies", "stock_lots", "referrals"])
def test_csv_equals_the_json_list(rich_world, admin_client, name):
    path = _lists(rich_world)[name]
    items = json_all(admin_client, path)
    header, rows = csv_of(admin_client.get(path, {"format": "csv"}))
    assert items, "the world has rows of every list"
    assert_header_names_the_json_fields(header, items)
    if name == "activity":  # the export's own entry, written before its first row
        assert rows[0]["action"] == "export"
        rows = rows[1:]
    assert rows == [flat(item, header) for item in items]


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("appointments", {"status": "booked"}),
        ("admissions", {"active": "true"}),
        ("activity", {"action": "update"}),
        ("emergencies", {"status": "reported"}),
        ("stock_lots", {"blood_group": "O-"}),
        ("referrals", {"status": "requested"}),
    ],
)
def test_filtered_csv_equals_the_filtered_json_list(rich_world, admin_client, name, params):
    path = _lists(rich_world)[name]
    items = json_all(admin_client, path, params)
    header, rows = csv_of(admin_client.get(path, {**params, "format": "csv"}))
    assert items
    assert rows == [flat(item, header) for item in items]


def test_quoting_and_formula_guard_survive_a_round_trip(rich_world, admin_client):
    header, rows = csv_of(admin_client.get("/api/v1/admissions", {"format": "csv"}))
    nasty = next(row for row in rows if row["patient_name"] == NASTY)
    assert nasty["reason"] == "'=HYPERLINK(1)"
    assert nasty["patient_id"] == ""
    _, lots = csv_of(admin_client.get(_lists(rich_world)["stock_lots"], {"format": "csv"}))
    assert {"'@SUM(A1:A2)", "Ñandú, 血液"} <= {lot["lot_number"] for lot in lots}
    _, emergencies = csv_of(admin_client.get("/api/v1/emergencies", {"format": "csv"}))
    # Text starting with a sign is guarded; numbers (a negative coordinate) are written as they are.
    assert {"'-2+3"} <= {row["description"] for row in emergencies}
    assert all(row["contact_number"].startswith("'+") for row in emergencies)


def test_negative_numbers_are_not_guarded(world, admin_client):
    EmergencyFactory(hospital=world.hospital, latitude=-33.9, longitude=-18.4)
    _, rows = csv_of(admin_client.get("/api/v1/emergencies", {"format": "csv"}))
    assert {("-33.9", "-18.4")} <= {(row["latitude"], row["longitude"]) for row in rows}


def test_accept_text_csv_selects_the_export(world, admin_client):
    header, rows = csv_of(admin_client.get("/api/v1/admissions", HTTP_ACCEPT="text/csv"))
    assert header[0] == "id" and len(rows) == 1
    assert admin_client.get("/api/v1/admissions", HTTP_ACCEPT="application/json")["Content-Type"] == (
        "application/json"
    )
    assert admin_client.get("/api/v1/admissions")["Content-Type"] == "application/json"


def test_csv_is_offered_on_exporting_lists_only(world, admin_client):
    assert admin_client.get("/api/v1/hospitals", {"format": "csv"}).status_code == 404
    assert admin_client.get(f"/api/v1/admissions/{world.admission.pk}", {"format": "csv"}).status_code == 404
    assert admin_client.get("/api/v1/hospitals", {"format": "json"}).status_code == 200


def test_patient_exports_only_own_appointments(world, patient_client, other_patient_client):
    AppointmentFactory(slot=world.spare_slot, patient=world.other_patient)
    _, rows = csv_of(patient_client.get("/api/v1/appointments", {"format": "csv"}))
    assert [row["id"] for row in rows] == [str(world.appointment.pk)]
    _, rows = csv_of(other_patient_client.get("/api/v1/appointments", {"format": "csv"}))
    assert [row["patient_id"] for row in rows] == [str(world.other_patient.pk)]


def test_other_hospital_staff_export_none_of_its_records(world, other_hospital_admin_client):
    assert world.referral.from_hospital_id == world.hospital.pk  # patient A's referral, not theirs
    for path in ("/api/v1/appointments", "/api/v1/admissions", "/api/v1/emergencies", "/api/v1/referrals"):
        _, rows = csv_of(other_hospital_admin_client.get(path, {"format": "csv"}))
        assert rows == []


def test_refusals_of_an_export_are_json(world, patient_client, api):
    response = patient_client.get("/api/v1/activity", {"format": "csv"})
    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
    assert response.json()["errors"][0]["code"] == "permission_denied"
    response = api.get("/api/v1/appointments", HTTP_ACCEPT="text/csv")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    ("path", "start", "end"),
    [
        ("/api/v1/activity", "2026-01-01T00:00:00Z", "2026-02-01T00:00:01Z"),
        ("/api/v1/appointments", "2026-01-01", "2026-02-01"),
        ("/api/v1/appointments", "2026-01-01T00:00:00Z", "2026-03-01T00:00:00Z"),
        ("/api/v1/emergencies", "2026-01-01T00:00:00Z", "2026-02-15T00:00:00Z"),
        ("/api/v1/referrals", "2026-01-01T00:00:00Z", "2026-02-15T00:00:00Z"),
    ],
)
def test_window_over_31_days_is_refused_with_its_code(world, admin_client, path, start, end):
    response = admin_client.get(path, {"format": "csv", "from": start, "to": end})
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    error = response.json()["errors"][0]
    assert (error["code"], error["attr"]) == (RANGE_TOO_LONG, "to")
    # The JSON list pages through any window.
    assert admin_client.get(path, {"from": start, "to": end}).status_code == 200


def test_emergencies_window_by_created_after_and_before(world, admin_client):
    params = {"format": "csv", "created_after": "2026-01-01T00:00:00Z", "created_before": "2026-03-01T00:00:00Z"}
    response = admin_client.get("/api/v1/emergencies", params)
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == RANGE_TOO_LONG


@pytest.mark.parametrize("given", ["from", "to"])
def test_window_with_one_end_is_refused(world, admin_client, given):
    response = admin_client.get("/api/v1/activity", {"format": "csv", given: "2026-01-01T00:00:00Z"})
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert (error["code"], error["attr"]) == (RANGE_INCOMPLETE, given)


def test_window_of_31_days_exports_the_rows_in_it(world, admin_client):
    now = timezone.now()
    start = (now - datetime.timedelta(days=EXPORT_MAX_DAYS - 1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = (now + datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    params = {"from": start, "to": end}
    items = json_all(admin_client, "/api/v1/activity", params)
    header, rows = csv_of(admin_client.get("/api/v1/activity", {**params, "format": "csv"}))
    assert items and rows[1:] == [flat(item, header) for item in items]
    day = world.slot.local_date
    params = {"from": (day - datetime.timedelta(days=30)).isoformat(), "to": day.isoformat()}
    _, rows = csv_of(admin_client.get("/api/v1/appointments", {**params, "format": "csv"}))
    assert str(world.appointment.pk) in {row["id"] for row in rows}


def test_bad_filter_value_is_a_400_before_anything_streams(world, admin_client):
    response = admin_client.get("/api/v1/appointments", {"format": "csv", "status": "nope"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "status"


def test_export_is_recorded_with_its_filters(world, admin_client, admin_user):
    csv_of(admin_client.get("/api/v1/appointments", {"format": "csv", "status": "booked", "page": "3"}))
    entry = Activity.objects.filter(action="export").get()
    assert (entry.actor_id, entry.object_type) == (admin_user.pk, "appointments")
    assert entry.detail == {"list": "appointments", "filters": {"status": "booked"}}
    # A refused export leaves no entry.
    admin_client.get("/api/v1/activity", {"format": "csv", "from": "2026-01-01T00:00:00Z"})
    assert Activity.objects.filter(action="export").count() == 1


def test_file_name_names_the_list(world, admin_client):
    response = admin_client.get(_lists(world)["stock_lots"], {"format": "csv"})
    assert response["Content-Disposition"].startswith('attachment; filename="stock_lots-')


def test_export_reads_in_a_bounded_number_of_queries(world, admin_client, django_assert_max_num_queries):
    for _ in range(5):
        EmergencyFactory(hospital=world.hospital)
    with django_assert_max_num_queries(12):
        b"".join(admin_client.get("/api/v1/emergencies", {"format": "csv"}).streaming_content)


def test_export_of_200000_rows_streams_in_constant_memory(admin_client):
    bank = BloodBankFactory()
    with connection.cursor() as cursor:  # one statement: the rows are the fixture, not the subject
        cursor.execute(
            f"""INSERT INTO {StockLot._meta.db_table}
                (blood_bank_id, blood_group, component, units, initial_units, collected_on, expires_on,
                 lot_number, status, created_at)
            SELECT %s, 'A+', 'plasma', 3, 3, CURRENT_DATE, CURRENT_DATE + 300, 'L' || n, 'available', now()
            FROM generate_series(1, 200000) AS n""",
            [bank.pk],
        )
    response = admin_client.get(f"/api/v1/blood-banks/{bank.pk}/lots", {"format": "csv"})
    assert response.status_code == 200
    started, chunks, lines, sent = time.perf_counter(), iter(response.streaming_content), 0, 0
    for chunk in itertools.islice(chunks, 50):  # warmed up: the cursor, the first chunks
        lines, sent = lines + chunk.count(b"\r\n"), sent + len(chunk)
    baseline = peak = resident_bytes()
    for chunk in chunks:
        lines, sent = lines + chunk.count(b"\r\n"), sent + len(chunk)
        peak = max(peak, resident_bytes())
    elapsed = time.perf_counter() - started
    print(
        f"200,000 rows, {sent / 1e6:.1f} MB in {elapsed:.1f} s; resident memory grew {(peak - baseline) / 1e6:.1f} MB"
    )
    assert lines == 200_001
    # The file is ~18 MB (rows kept in memory would take several times that); a stream holds one
    # cursor chunk (2,000 rows) and a few hundred lines at a time.
    assert peak - baseline < 8 * 1024 * 1024, f"grew {(peak - baseline) / 1e6:.1f} MB"


def resident_bytes() -> int:
    """This process's resident set now (Linux)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_patient_exports_only_own_referrals(rich_world, patient_client):
    _, rows = csv_of(patient_client.get("/api/v1/referrals", {"format": "csv"}))
    assert {row["patient_id"] for row in rows} == {str(rich_world.patient.pk)}
    assert all(json.loads(row["events"]) for row in rows)


def test_ordering_applies_to_the_export(rich_world, admin_client):
    path = _lists(rich_world)["stock_lots"]
    items = json_all(admin_client, path, {"ordering": "-id"})
    _, rows = csv_of(admin_client.get(path, {"ordering": "-id", "format": "csv"}))
    assert [row["id"] for row in rows] == [str(item["id"]) for item in items]
    assert [item["id"] for item in items] == sorted((item["id"] for item in items), reverse=True)


def test_an_undeclared_method_with_format_csv_is_405_not_404(admin_client):
    """Found by the schema fuzzer: TRACE /api/v1/admissions?format=csv answered 404."""
    for path in ("/api/v1/admissions", "/api/v1/activity", "/appointment/my-appointments"):
        response = admin_client.generic("TRACE", f"{path}?format=csv")
        assert response.status_code == 405, (path, response.status_code)
        assert response.json()["errors"][0]["code"] == "method_not_allowed"


def test_an_unknown_format_on_an_exporting_list_is_400_naming_it(admin_client):
    response = admin_client.get("/api/v1/admissions", {"format": "xml"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "format"


@pytest.mark.parametrize("path", ["/api/v1/admissions", "/api/v1/emergencies", "/api/v1/activity"])
def test_an_empty_format_on_an_exporting_list_is_400_naming_it(admin_client, path):
    """Found by make fuzz's seed 1636076828: `?format=` answered the JSON list although the schema offers
    json or csv only (DRF reads an empty format as none)."""
    response = admin_client.get(f"{path}?format=")
    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["attr"] == "format"
    assert admin_client.get(path, {"format": "json"}).status_code == 200


@pytest.mark.parametrize(
    "query", ["page=-1051", "page=abc", "page=", "page=1&page=2", "page_size=0", "page_size=-5", "page_size=x"]
)
def test_a_malformed_page_or_page_size_is_a_400_on_the_export_too(world, admin_client, query):
    """Nothing is paged in an export, but `page` and `page_size` are checked as on the JSON list."""
    response = admin_client.get(f"/api/v1/admissions?format=csv&{query}")
    assert response.status_code == 400, response.content
    name = query.split("=")[0]
    assert response.json()["errors"][0]["attr"] == name


def test_a_well_formed_page_is_ignored_by_the_export(rich_world, admin_client):
    whole = admin_client.get("/api/v1/appointments?format=csv")
    paged = admin_client.get("/api/v1/appointments?format=csv&page=2&page_size=1")
    assert paged.status_code == 200
    assert b"".join(paged.streaming_content) == b"".join(whole.streaming_content)


@pytest.mark.django_db(transaction=True)  # the refused statement must not poison the next request's
def test_a_filter_value_the_database_refuses_is_answered_as_on_the_json_list(world, admin_client):
    """Found by the fuzzer: an offset PostgreSQL cannot hold (+16:15) broke the stream after it began (500)."""
    query = {"created_before": "0600-07-05T15:57:23.0+16:15", "from": "0838-01-26T18:59:00Z"}
    as_json = admin_client.get("/api/v1/emergencies", query)
    as_csv = admin_client.get("/api/v1/emergencies", {**query, "format": "csv"})
    assert as_csv.status_code == as_json.status_code and as_csv.status_code != 500
    assert as_csv["Content-Type"].startswith("application/json")
    assert as_csv.json()["errors"][0]["code"] == as_json.json()["errors"][0]["code"]
