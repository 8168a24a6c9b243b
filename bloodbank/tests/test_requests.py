import datetime

import pytest
from django.utils import timezone

from accounts.models import Activity
from accounts.tests.factories import HospitalFactory, UserFactory
from bloodbank.models import Allocation, BloodRequest, StockLot
from bloodbank.tests.factories import BloodRequestFactory
from conftest import client_for

pytestmark = pytest.mark.django_db

REQUESTS = "/api/v1/blood-requests"


def request_body(bank, **overrides):
    body = {
        "blood_bank_id": bank.pk,
        "patient_name": "Ravi Kumar",
        "blood_group": "A+",
        "component": "packed_red_cells",
        "units": 2,
        "urgency": "urgent",
    }
    body.update(overrides)
    return body


def error(response):
    return response.json()["errors"][0]


def units_of(*lots):
    return [StockLot.objects.get(pk=lot.pk).units for lot in lots]


@pytest.fixture
def pending(bank, patient):
    """A pending request of `patient` for 3 units of A+ packed red cells at `bank`."""
    return BloodRequestFactory(requester=patient, blood_bank=bank, blood_group="A+", units=3)


# --- create ------------------------------------------------------------------------------------


def test_signed_in_user_creates_a_pending_request(patient_client, patient, bank, hospital):
    required_by = (timezone.now() + datetime.timedelta(hours=6)).isoformat()
    response = patient_client.post(
        REQUESTS, request_body(bank, hospital_id=hospital.pk, required_by=required_by, reason="Surgery")
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "pending" and body["requester_id"] == patient.pk
    assert body["blood_bank_id"] == bank.pk and body["hospital_id"] == hospital.pk
    assert body["allocations"] == [] and body["urgency"] == "urgent" and body["reason"] == "Surgery"
    for field in ["patient_name", "blood_group", "component", "units", "required_by", "created_at"]:
        assert field in body
    assert Activity.objects.filter(
        action="create", object_type="blood_request", object_id=str(body["id"]), patient_id=patient.pk
    ).exists()


def test_request_defaults_whole_blood_routine_and_staff_hospital(doctor_client, doctor_user, bank):
    response = doctor_client.post(
        REQUESTS, {"blood_bank_id": bank.pk, "patient_name": "P", "blood_group": "O-", "units": 1}
    )
    assert response.status_code == 201
    body = response.json()
    assert body["component"] == "whole_blood" and body["urgency"] == "routine"
    assert body["hospital_id"] == doctor_user.hospital_id


def test_anonymous_cannot_create_a_request(api, bank):
    assert api.post(REQUESTS, request_body(bank)).status_code == 401
    assert not BloodRequest.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "attr"),
    [
        ({"units": 0}, "units"),
        ({"units": 101}, "units"),
        ({"units": "many"}, "units"),
        ({"blood_group": "C+"}, "blood_group"),
        ({"component": "serum"}, "component"),
        ({"urgency": "whenever"}, "urgency"),
        ({"patient_name": ""}, "patient_name"),
        ({"patient_name": "n" * 151}, "patient_name"),
        ({"blood_bank_id": 999999}, "blood_bank_id"),
        ({"blood_bank_id": "x"}, "blood_bank_id"),
        ({"hospital_id": 999999}, "hospital_id"),
        ({"reason": "r" * 1001}, "reason"),
        ({"required_by": "2000-01-01T00:00:00Z"}, "required_by"),
        ({"required_by": "tomorrow"}, "required_by"),
    ],
)
def test_invalid_request_is_400_naming_the_field(patient_client, bank, overrides, attr):
    response = patient_client.post(REQUESTS, request_body(bank, **overrides))
    assert response.status_code == 400, response.content
    assert error(response)["attr"] == attr
    assert not BloodRequest.objects.exists()


def test_request_to_a_deactivated_bank_is_400(patient_client, bank):
    bank.is_active = False
    bank.save()
    response = patient_client.post(REQUESTS, request_body(bank))
    assert response.status_code == 400
    assert error(response)["attr"] == "blood_bank_id"


def test_requests_cannot_be_edited_or_deleted(patient_client, pending):
    url = f"{REQUESTS}/{pending.pk}"
    assert patient_client.patch(url, {"units": 9}).status_code == 405
    assert patient_client.delete(url).status_code == 405
    pending.refresh_from_db()
    assert pending.units == 3


# --- visibility and audit ----------------------------------------------------------------------


def test_requester_managers_and_admin_see_the_request_and_reads_are_audited(
    patient_client, hospital_admin_client, admin_client, pending, patient
):
    for client in (patient_client, hospital_admin_client, admin_client):
        response = client.get(f"{REQUESTS}/{pending.pk}")
        assert response.status_code == 200
        assert response.json()["id"] == pending.pk
    reads = Activity.objects.filter(action="read", object_type="blood_request", object_id=str(pending.pk))
    assert reads.count() == 3
    assert set(reads.values_list("patient_id", flat=True)) == {patient.pk}


@pytest.mark.parametrize("client_fixture", ["other_patient_client", "doctor_client", "donor_client"])
def test_others_get_404_and_the_attempt_is_audited(request, client_fixture, pending, patient):
    client = request.getfixturevalue(client_fixture)
    assert client.get(f"{REQUESTS}/{pending.pk}").status_code == 404
    assert client.get(REQUESTS).json()["count"] == 0
    denied = Activity.objects.get(action="read_denied", object_type="blood_request")
    assert denied.object_id == pending.pk and denied.patient_id == patient.pk


def test_hospital_admin_of_another_hospital_gets_404(other_bank, pending):
    outsider = UserFactory(role="hospital_admin", hospital=other_bank.hospital)
    assert client_for(outsider).get(f"{REQUESTS}/{pending.pk}").status_code == 404
    assert client_for(outsider).post(f"{REQUESTS}/{pending.pk}/approve").status_code == 404


def test_list_is_scoped_filtered_and_has_no_query_per_row(
    hospital_admin_client, bank, other_bank, lot, patient, django_assert_max_num_queries
):
    lot(bank, "A+", 100)
    for _ in range(8):
        request = BloodRequestFactory(blood_bank=bank, requester=patient, blood_group="A+", units=2)
        BloodRequestFactory(blood_bank=other_bank, blood_group="A+", units=2)
        client_for(UserFactory(role="admin")).post(f"{REQUESTS}/{request.pk}/approve")
    with django_assert_max_num_queries(6):
        response = hospital_admin_client.get(REQUESTS, {"page_size": 50})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 8
    assert all(row["blood_bank_id"] == bank.pk and len(row["allocations"]) == 1 for row in body["results"])
    assert hospital_admin_client.get(REQUESTS, {"status": "pending"}).json()["count"] == 0
    assert hospital_admin_client.get(REQUESTS, {"status": "approved"}).json()["count"] == 8


# --- approve: FEFO, compatibility, all or nothing ----------------------------------------------


def test_approve_takes_own_group_first_then_other_compatible_groups_by_earliest_expiry(
    hospital_admin_client, bank, other_bank, lot, patient
):
    own_late = lot(bank, "A+", 2, expires_in_days=20)
    own_early = lot(bank, "A+", 2, expires_in_days=10)
    o_neg = lot(bank, "O-", 5, expires_in_days=3)
    a_neg = lot(bank, "A-", 5, expires_in_days=5)
    o_pos = lot(bank, "O+", 5, expires_in_days=7)
    b_pos = lot(bank, "B+", 50, expires_in_days=1)  # incompatible with A+
    whole = lot(bank, "A+", 50, expires_in_days=2, component="whole_blood")  # another component
    elsewhere = lot(other_bank, "A+", 50, expires_in_days=2)  # another bank
    request = BloodRequestFactory(requester=patient, blood_bank=bank, blood_group="A+", units=10)

    response = hospital_admin_client.post(f"{REQUESTS}/{request.pk}/approve")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "approved"
    assert [(a["lot_id"], a["blood_group"], a["units"]) for a in body["allocations"]] == [
        (own_early.pk, "A+", 2),
        (own_late.pk, "A+", 2),
        (o_neg.pk, "O-", 5),
        (a_neg.pk, "A-", 1),
    ]
    assert body["allocations"][0]["expires_on"] == own_early.expires_on.isoformat()
    assert units_of(own_early, own_late, o_neg, a_neg, o_pos) == [0, 0, 0, 4, 5]
    assert units_of(b_pos, whole, elsewhere) == [50, 50, 50]
    assert Activity.objects.filter(action="action", object_type="blood_request", object_id=str(request.pk)).exists()


def test_approved_units_leave_usable_stock_at_once(hospital_admin_client, api, bank, lot, pending):
    lot(bank, "A+", 5)
    assert hospital_admin_client.post(f"{REQUESTS}/{pending.pk}/approve").status_code == 200
    summary = api.get(f"/api/v1/blood-banks/{bank.pk}/stock").json()
    assert summary["items"][0]["units"] == 2


def test_expired_lot_is_neither_counted_nor_allocated(hospital_admin_client, bank, lot, pending):
    expired_today = lot(bank, "A+", 10, expires_in_days=0)  # still status "available"
    expired_before = lot(bank, "O-", 10, expires_in_days=-5)
    usable = lot(bank, "A+", 2, expires_in_days=4)

    response = hospital_admin_client.post(f"{REQUESTS}/{pending.pk}/approve")

    assert response.status_code == 409
    assert error(response)["code"] == "insufficient_stock"
    assert "only 2 compatible usable units" in error(response)["detail"]
    assert units_of(expired_today, expired_before, usable) == [10, 10, 2]
    pending.refresh_from_db()
    assert pending.status == "pending"
    assert not Allocation.objects.exists()


def test_insufficient_stock_is_409_stating_availability_and_reserves_nothing(hospital_admin_client, bank, lot, pending):
    a_pos = lot(bank, "A+", 1)
    o_neg = lot(bank, "O-", 1)
    response = hospital_admin_client.post(f"{REQUESTS}/{pending.pk}/approve")
    assert response.status_code == 409 and error(response)["code"] == "insufficient_stock"
    detail = error(response)["detail"]
    assert "3 units" in detail and "only 2" in detail and "A+: 1" in detail and "O-: 1" in detail
    assert units_of(a_pos, o_neg) == [1, 1]
    assert not Allocation.objects.exists()
    pending.refresh_from_db()
    assert pending.status == "pending"


def test_whole_blood_must_be_abo_identical(hospital_admin_client, bank, lot, patient):
    o_neg = lot(bank, "O-", 10, component="whole_blood")
    request = BloodRequestFactory(requester=patient, blood_bank=bank, blood_group="A-", component="whole_blood")
    response = hospital_admin_client.post(f"{REQUESTS}/{request.pk}/approve")
    assert response.status_code == 409 and error(response)["code"] == "insufficient_stock"
    assert units_of(o_neg) == [10]
    assert not Allocation.objects.exists() and BloodRequest.objects.get(pk=request.pk).status == "pending"
    a_neg = lot(bank, "A-", 10, component="whole_blood")
    assert hospital_admin_client.post(f"{REQUESTS}/{request.pk}/approve").status_code == 200
    assert units_of(o_neg, a_neg) == [10, 8]


def test_plasma_follows_reversed_abo(hospital_admin_client, bank, lot, patient):
    o_plasma = lot(bank, "O+", 10, component="plasma")
    ab_plasma = lot(bank, "AB-", 10, component="plasma")
    request = BloodRequestFactory(requester=patient, blood_bank=bank, blood_group="A+", component="plasma", units=3)
    response = hospital_admin_client.post(f"{REQUESTS}/{request.pk}/approve")
    assert response.status_code == 200
    assert [a["blood_group"] for a in response.json()["allocations"]] == ["AB-"]
    assert units_of(o_plasma, ab_plasma) == [10, 7]


def test_requester_cannot_approve_its_own_request(patient_client, bank, lot, pending):
    a_pos = lot(bank, "A+", 5)
    assert patient_client.post(f"{REQUESTS}/{pending.pk}/approve").status_code == 403
    pending.refresh_from_db()
    assert pending.status == "pending" and units_of(a_pos) == [5]


def test_admin_approves_requests_of_an_independent_bank(admin_client, hospital_admin_client, independent_bank, lot):
    lot(independent_bank, "A+", 5)
    request = BloodRequestFactory(blood_bank=independent_bank, blood_group="A+", units=2)
    assert hospital_admin_client.post(f"{REQUESTS}/{request.pk}/approve").status_code == 404
    assert admin_client.post(f"{REQUESTS}/{request.pk}/approve").status_code == 200


def test_approving_twice_is_409_and_takes_nothing_more(hospital_admin_client, bank, lot, pending):
    a_pos = lot(bank, "A+", 10)
    assert hospital_admin_client.post(f"{REQUESTS}/{pending.pk}/approve").status_code == 200
    again = hospital_admin_client.post(f"{REQUESTS}/{pending.pk}/approve")
    assert again.status_code == 409
    assert error(again)["code"] == "illegal_transition"
    assert units_of(a_pos) == [7]


# --- reject, fulfil, cancel --------------------------------------------------------------------


def test_manager_rejects_a_pending_request_with_a_reason(hospital_admin_client, pending):
    missing = hospital_admin_client.post(f"{REQUESTS}/{pending.pk}/reject", {})
    assert missing.status_code == 400 and error(missing)["attr"] == "reason"
    response = hospital_admin_client.post(f"{REQUESTS}/{pending.pk}/reject", {"reason": "No cross-match"})
    assert response.status_code == 200
    assert response.json()["status"] == "rejected" and response.json()["rejection_reason"] == "No cross-match"
    again = hospital_admin_client.post(f"{REQUESTS}/{pending.pk}/approve")
    assert again.status_code == 409 and error(again)["code"] == "illegal_transition"
    pending.refresh_from_db()
    assert pending.status == "rejected" and not Allocation.objects.exists()


def test_requester_cannot_reject_or_fulfil(patient_client, pending):
    rejected = patient_client.post(f"{REQUESTS}/{pending.pk}/reject", {"reason": "x"})
    assert rejected.status_code == 403 and error(rejected)["code"] == "permission_denied"
    fulfilled = patient_client.post(f"{REQUESTS}/{pending.pk}/fulfil")
    assert fulfilled.status_code == 403 and error(fulfilled)["code"] == "permission_denied"
    pending.refresh_from_db()
    assert pending.status == "pending"


def test_fulfil_only_an_approved_request(hospital_admin_client, bank, lot, pending):
    a_pos = lot(bank, "A+", 5)
    early = hospital_admin_client.post(f"{REQUESTS}/{pending.pk}/fulfil")
    assert early.status_code == 409 and error(early)["code"] == "illegal_transition"
    assert BloodRequest.objects.get(pk=pending.pk).status == "pending" and units_of(a_pos) == [5]
    hospital_admin_client.post(f"{REQUESTS}/{pending.pk}/approve")
    response = hospital_admin_client.post(f"{REQUESTS}/{pending.pk}/fulfil")
    assert response.status_code == 200 and response.json()["status"] == "fulfilled"
    assert units_of(a_pos) == [2]
    late = hospital_admin_client.post(f"{REQUESTS}/{pending.pk}/cancel")
    assert late.status_code == 409 and error(late)["code"] == "illegal_transition"
    assert units_of(a_pos) == [2] and BloodRequest.objects.get(pk=pending.pk).status == "fulfilled"


def test_rejecting_an_approved_request_is_409(hospital_admin_client, bank, lot, pending):
    lot(bank, "A+", 5)
    hospital_admin_client.post(f"{REQUESTS}/{pending.pk}/approve")
    response = hospital_admin_client.post(f"{REQUESTS}/{pending.pk}/reject", {"reason": "late"})
    assert response.status_code == 409 and error(response)["code"] == "illegal_transition"
    pending.refresh_from_db()
    assert pending.status == "approved" and pending.rejection_reason == ""


def test_cancel_of_an_approved_request_returns_its_units(patient_client, hospital_admin_client, bank, lot, pending):
    first = lot(bank, "A+", 2, expires_in_days=3)
    second = lot(bank, "A+", 5, expires_in_days=9)
    hospital_admin_client.post(f"{REQUESTS}/{pending.pk}/approve")
    assert units_of(first, second) == [0, 4]

    response = patient_client.post(f"{REQUESTS}/{pending.pk}/cancel")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "cancelled"
    assert all(allocation["returned"] for allocation in body["allocations"])
    assert units_of(first, second) == [2, 5]
    again = patient_client.post(f"{REQUESTS}/{pending.pk}/cancel")
    assert again.status_code == 409 and error(again)["code"] == "illegal_transition"
    assert units_of(first, second) == [2, 5]


def test_manager_may_cancel_a_pending_request(hospital_admin_client, pending):
    response = hospital_admin_client.post(f"{REQUESTS}/{pending.pk}/cancel")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"


def test_strangers_cannot_cancel(other_patient_client, pending):
    assert other_patient_client.post(f"{REQUESTS}/{pending.pk}/cancel").status_code == 404
    pending.refresh_from_db()
    assert pending.status == "pending"


def test_unknown_request_action_is_404(hospital_admin_client):
    assert hospital_admin_client.post(f"{REQUESTS}/987654/approve").status_code == 404


# --- seed-compatible aliases -------------------------------------------------------------------


def test_seed_request_aliases(patient_client, other_patient_client, bank):
    created = patient_client.post("/bloodbank/request", request_body(bank))
    assert created.status_code == 201
    assert patient_client.get("/bloodbank/requests/").json()["count"] == 1
    assert other_patient_client.get("/bloodbank/requests").json()["count"] == 0


@pytest.mark.parametrize("action", ["approve", "reject", "fulfil"])
def test_requester_refused_a_manager_action_gets_the_documented_403(patient_client, bank, pending, action):
    from hms.tests.openapi import assert_response_documented, openapi

    response = patient_client.post(f"{REQUESTS}/{pending.pk}/{action}/", {"reason": "no"}, format="json")
    assert response.status_code == 403
    assert_response_documented(openapi(), f"/api/v1/blood-requests/{{id}}/{action}/", "post", response)
    pending.refresh_from_db()
    assert pending.status == "pending"


@pytest.mark.parametrize("name", ["blood_bank_id", "hospital_id", "requester_id"])
def test_blood_request_list_rejects_fractional_id_filter_with_400(admin_client, name):
    response = admin_client.get(f"{REQUESTS}/", {name: "1.5"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == name


@pytest.mark.parametrize("required_by", ["2099-01-01", "2099-01-01T10:00:00", "2099-01-01 10:00:00Z", "tomorrow"])
def test_blood_request_rejects_required_by_without_rfc3339_offset_with_400(patient_client, bank, required_by):
    response = patient_client.post(f"{REQUESTS}/", request_body(bank, required_by=required_by), format="json")
    assert response.status_code == 400
    assert [error["attr"] for error in response.json()["errors"]] == ["required_by"]
    assert not BloodRequest.objects.exists()


@pytest.mark.parametrize("required_by", ["2099-01-01T10:00:00Z", "2099-01-01T10:00:00.250+05:30"])
def test_blood_request_takes_rfc3339_required_by(patient_client, bank, required_by):
    response = patient_client.post(f"{REQUESTS}/", request_body(bank, required_by=required_by), format="json")
    assert response.status_code == 201, response.content


# --- who may act is checked before the body ----------------------------------------------------


INVALID_REJECT_BODIES = [{}, {"reason": ""}, {"reason": "x" * 501}, {"reason": None}]


@pytest.mark.parametrize("body", INVALID_REJECT_BODIES)
def test_requester_rejecting_with_an_invalid_body_gets_403_not_400(patient_client, pending, body):
    response = patient_client.post(f"{REQUESTS}/{pending.pk}/reject", body, format="json")
    assert response.status_code == 403 and error(response)["code"] == "permission_denied"
    pending.refresh_from_db()
    assert pending.status == "pending" and pending.rejection_reason == "" and pending.decided_by_id is None


@pytest.mark.parametrize("body", INVALID_REJECT_BODIES)
def test_staff_of_another_hospital_who_requested_gets_403_on_reject_whatever_the_body(bank, body):
    """A hospital admin sees its own request at another hospital's bank, but does not manage that bank."""
    outsider = UserFactory(role="hospital_admin", hospital=HospitalFactory())
    own = BloodRequestFactory(requester=outsider, blood_bank=bank, blood_group="A+", units=1)
    response = client_for(outsider).post(f"{REQUESTS}/{own.pk}/reject", body, format="json")
    assert response.status_code == 403 and error(response)["code"] == "permission_denied"
    own.refresh_from_db()
    assert own.status == "pending" and own.rejection_reason == ""


@pytest.mark.parametrize("action", ["approve", "reject", "fulfil", "cancel"])
def test_hidden_request_is_404_whatever_the_body(other_bank, other_patient_client, pending, action):
    """Neither the requester nor a manager: the request is not visible (404), never a 400 about the body."""
    outsider = UserFactory(role="hospital_admin", hospital=other_bank.hospital)
    for client in (other_patient_client, client_for(outsider)):
        response = client.post(f"{REQUESTS}/{pending.pk}/{action}", {"reason": ""}, format="json")
        assert response.status_code == 404
    pending.refresh_from_db()
    assert pending.status == "pending" and pending.rejection_reason == ""


def test_manager_still_gets_400_for_an_invalid_reject_body(hospital_admin_client, pending):
    response = hospital_admin_client.post(f"{REQUESTS}/{pending.pk}/reject", {"reason": ""}, format="json")
    assert response.status_code == 400 and error(response)["attr"] == "reason"
    pending.refresh_from_db()
    assert pending.status == "pending"
