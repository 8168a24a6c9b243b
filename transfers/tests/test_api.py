"""Referrals through the API: what each step does to beds, admissions and ambulances; input refusals;
visibility; filters; the audit log and the change feed."""

import pytest

from accounts.models import Activity
from accounts.tests.factories import HospitalFactory, UserFactory
from emergency.models import Ambulance
from emergency.tests.factories import AmbulanceFactory, EmergencyFactory
from feed.models import PendingEvent
from hospitals.models import Admission, Bed, BedStatus, BedType
from hospitals.tests.factories import AdmissionFactory, BedFactory, WardFactory
from transfers.models import BED_HOLD, Referral
from transfers.tests.conftest import ROLES
from transfers.tests.factories import ReferralFactory

pytestmark = pytest.mark.django_db

Status = Referral.Status


def _post(client, referral, action, body=None):
    return client.post(f"/api/v1/referrals/{referral.pk}/{action}", body or {}, format="json")


def _code(response):
    return response.json()["errors"][0]["code"]


# --- Request ----------------------------------------------------------------------------------


def _body(patient, to_hospital, **extra):
    return {"patient_id": patient.pk, "to_hospital_id": to_hospital.pk, "reason": "Needs ICU", **extra}


def test_staff_request_defaults_to_their_hospital_general_bed_and_routine(
    hospital_admin_client, hospital, other_hospital, patient
):
    response = hospital_admin_client.post("/api/v1/referrals", _body(patient, other_hospital), format="json")
    assert response.status_code == 201
    data = response.json()
    assert data["from_hospital_id"] == hospital.pk
    assert (data["bed_type"], data["urgency"], data["status"]) == ("general", "routine", "requested")


def test_staff_naming_another_origin_is_forbidden(hospital_admin_client, other_hospital, patient):
    third = HospitalFactory()
    body = _body(patient, other_hospital, from_hospital_id=third.pk)
    assert hospital_admin_client.post("/api/v1/referrals", body, format="json").status_code == 403
    assert not Referral.objects.exists()


def test_admin_must_name_the_origin(admin_client, other_hospital, patient):
    response = admin_client.post("/api/v1/referrals", _body(patient, other_hospital), format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "from_hospital_id"


def test_referral_to_the_origin_itself_is_400(hospital_admin_client, hospital, patient):
    response = hospital_admin_client.post("/api/v1/referrals", _body(patient, hospital), format="json")
    assert response.status_code == 400
    assert (_code(response), response.json()["errors"][0]["attr"]) == ("same_hospital", "to_hospital_id")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("patient_id", 999999),
        ("to_hospital_id", 999999),
        ("urgency", "whenever"),
        ("bed_type", "hammock"),
        ("reason", ""),
        ("patient_id", "x"),
    ],
)
def test_bad_input_is_400_naming_the_field(hospital_admin_client, other_hospital, patient, field, value):
    body = _body(patient, other_hospital, **{field: value})
    response = hospital_admin_client.post("/api/v1/referrals", body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == field


def test_only_a_patient_account_can_be_referred(hospital_admin_client, other_hospital, doctor_user):
    response = hospital_admin_client.post("/api/v1/referrals", _body(doctor_user, other_hospital), format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["attr"] == "patient_id"


def test_deactivated_destination_is_400(hospital_admin_client, other_hospital, patient):
    other_hospital.is_active = False
    other_hospital.save()
    response = hospital_admin_client.post("/api/v1/referrals", _body(patient, other_hospital), format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["attr"] == "to_hospital_id"


def test_a_second_open_referral_of_one_patient_is_409(hospital_admin_client, other_hospital, patient, make_referral):
    make_referral(Status.ACCEPTED)
    response = hospital_admin_client.post("/api/v1/referrals", _body(patient, other_hospital), format="json")
    assert response.status_code == 409 and _code(response) == "referral_open"


def test_a_closed_referral_does_not_block_a_new_one(hospital_admin_client, other_hospital, patient, make_referral):
    make_referral(Status.REJECTED)
    response = hospital_admin_client.post("/api/v1/referrals", _body(patient, other_hospital), format="json")
    assert response.status_code == 201


def test_an_outpatient_can_be_referred(hospital_admin_client, other_hospital, patient):
    assert not Admission.objects.filter(patient=patient).exists()
    response = hospital_admin_client.post("/api/v1/referrals", _body(patient, other_hospital), format="json")
    assert response.status_code == 201


def test_a_patient_admitted_at_a_third_hospital_is_409(hospital_admin_client, other_hospital, patient):
    AdmissionFactory(bed=BedFactory(ward=WardFactory(hospital=HospitalFactory())), patient=patient)
    response = hospital_admin_client.post("/api/v1/referrals", _body(patient, other_hospital), format="json")
    assert response.status_code == 409 and _code(response) == "admitted_elsewhere"


def test_request_is_audited_and_told_to_the_patient(hospital_admin_client, hospital_admin, other_hospital, patient):
    response = hospital_admin_client.post("/api/v1/referrals", _body(patient, other_hospital), format="json")
    referral_id = response.json()["id"]
    entry = Activity.objects.get(object_type="referral", object_id=str(referral_id))
    assert (entry.action, entry.actor_id, entry.patient_id) == ("create", hospital_admin.pk, patient.pk)
    event = PendingEvent.objects.get(topic=f"user.{patient.pk}")
    assert event.type == "referral.requested" and event.data["referral_id"] == referral_id


def test_idempotency_key_replays_the_request(hospital_admin_client, other_hospital, patient):
    body = _body(patient, other_hospital)
    first = hospital_admin_client.post("/api/v1/referrals", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = hospital_admin_client.post("/api/v1/referrals", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"] and Referral.objects.count() == 1


# --- Accept and reject ------------------------------------------------------------------------


def test_accept_reserves_a_free_bed_of_the_type_for_the_patient(
    admin_client, make_referral, icu_bed, patient, other_hospital
):
    BedFactory(ward=icu_bed.ward, bed_type=BedType.GENERAL)  # free, but of another type
    referral = make_referral(Status.REQUESTED)
    response = _post(admin_client, referral, "accept")
    assert response.status_code == 200
    assert response.json()["reserved_bed_id"] == icu_bed.pk
    icu_bed.refresh_from_db()
    assert icu_bed.status == BedStatus.RESERVED and icu_bed.reserved_for_id == patient.pk
    assert icu_bed.reserved_until is not None and icu_bed.reservation_reason == f"Referral {referral.pk}"
    assert PendingEvent.objects.filter(topic=f"hospital.{other_hospital.pk}.beds").exists()
    assert Activity.objects.filter(object_type="bed", object_id=str(icu_bed.pk), patient_id=patient.pk).exists()


def test_the_reservation_holds_for_the_bed_hold(admin_client, make_referral, icu_bed):
    referral = make_referral(Status.REQUESTED)
    response = _post(admin_client, referral, "accept")
    icu_bed.refresh_from_db()
    accepted_at = referral.events.last().at
    assert abs((icu_bed.reserved_until - accepted_at) - BED_HOLD).total_seconds() < 60
    assert response.status_code == 200


def test_accept_without_a_free_bed_of_the_type_is_409_no_bed(admin_client, make_referral, icu_bed):
    referral = make_referral(Status.REQUESTED)
    Bed.objects.filter(pk=icu_bed.pk).update(status=BedStatus.MAINTENANCE)
    response = _post(admin_client, referral, "accept")
    assert response.status_code == 409 and _code(response) == "no_bed"
    referral.refresh_from_db()
    assert referral.status == Status.REQUESTED and referral.reserved_bed_id is None


def test_accept_with_a_named_bed(admin_client, make_referral, icu_bed):
    second = BedFactory(ward=icu_bed.ward, bed_type=BedType.ICU)
    referral = make_referral(Status.REQUESTED)
    response = _post(admin_client, referral, "accept", {"bed_id": second.pk})
    assert response.status_code == 200 and response.json()["reserved_bed_id"] == second.pk


def test_accept_with_a_bed_of_another_hospital_is_400(admin_client, make_referral, hospital):
    referral = make_referral(Status.REQUESTED)
    bed = BedFactory(ward=WardFactory(hospital=hospital), bed_type=BedType.ICU)
    response = _post(admin_client, referral, "accept", {"bed_id": bed.pk})
    assert response.status_code == 400 and (_code(response), response.json()["errors"][0]["attr"]) == (
        "hospital_mismatch",
        "bed_id",
    )


def test_accept_with_a_bed_of_another_type_is_400(admin_client, make_referral, icu_bed):
    general = BedFactory(ward=icu_bed.ward, bed_type=BedType.GENERAL)
    referral = make_referral(Status.REQUESTED)
    response = _post(admin_client, referral, "accept", {"bed_id": general.pk})
    assert response.status_code == 400 and _code(response) == "bed_type_mismatch"


def test_accept_with_an_unknown_bed_is_404(admin_client, make_referral):
    referral = make_referral(Status.REQUESTED)
    assert _post(admin_client, referral, "accept", {"bed_id": 999999}).status_code == 404


def test_accept_with_an_occupied_bed_is_409(admin_client, make_referral, icu_bed):
    referral = make_referral(Status.REQUESTED)
    AdmissionFactory(bed=icu_bed)
    response = _post(admin_client, referral, "accept", {"bed_id": icu_bed.pk})
    assert response.status_code == 409 and _code(response) == "bed_occupied"


def test_reject_needs_a_reason(admin_client, make_referral):
    referral = make_referral(Status.REQUESTED)
    response = _post(admin_client, referral, "reject", {})
    assert response.status_code == 400 and response.json()["errors"][0]["attr"] == "reason"
    response = _post(admin_client, referral, "reject", {"reason": "No neurosurgeon this week"})
    assert response.status_code == 200 and response.json()["events"][-1]["note"] == "No neurosurgeon this week"


# --- Dispatch ---------------------------------------------------------------------------------


def test_dispatch_sends_the_nearest_available_ambulance_of_either_hospital(
    admin_client, make_referral, ambulance, hospital, other_hospital
):
    referral = make_referral(Status.ACCEPTED)
    Ambulance.objects.filter(pk=ambulance.pk).update(latitude=19.5, longitude=75.0)  # far from the origin
    near = AmbulanceFactory(hospital=other_hospital, latitude=hospital.latitude, longitude=hospital.longitude)
    AmbulanceFactory(hospital=HospitalFactory(), latitude=hospital.latitude, longitude=hospital.longitude)
    response = _post(admin_client, referral, "dispatch")
    assert response.status_code == 200
    assert response.json()["ambulance_id"] == near.pk and response.json()["status"] == "in_transit"
    near.refresh_from_db()
    assert near.status == Ambulance.Status.BUSY


def test_dispatch_of_a_named_busy_ambulance_is_409(admin_client, make_referral, hospital):
    busy = AmbulanceFactory(hospital=hospital, status=Ambulance.Status.DISPATCHED)
    referral = make_referral(Status.ACCEPTED)
    response = _post(admin_client, referral, "dispatch", {"ambulance_id": busy.pk})
    assert response.status_code == 409 and _code(response) == "ambulance_busy"


def test_dispatch_of_another_hospitals_ambulance_is_400(admin_client, make_referral):
    elsewhere = AmbulanceFactory(hospital=HospitalFactory())
    referral = make_referral(Status.ACCEPTED)
    response = _post(admin_client, referral, "dispatch", {"ambulance_id": elsewhere.pk})
    assert response.status_code == 400 and _code(response) == "hospital_mismatch"


def test_dispatch_of_an_unknown_ambulance_is_404(admin_client, make_referral):
    referral = make_referral(Status.ACCEPTED)
    assert _post(admin_client, referral, "dispatch", {"ambulance_id": 999999}).status_code == 404


def test_dispatch_without_an_available_ambulance_is_409(admin_client, make_referral, ambulance):
    referral = make_referral(Status.ACCEPTED)
    Ambulance.objects.filter(pk=ambulance.pk).update(status=Ambulance.Status.OUT_OF_SERVICE)
    response = _post(admin_client, referral, "dispatch")
    assert response.status_code == 409 and _code(response) == "no_ambulance_available"


def test_an_ambulance_on_a_transfer_is_not_set_available_by_hand_nor_sent_to_an_emergency(
    admin_client, make_referral, ambulance, hospital
):
    make_referral(Status.IN_TRANSIT)
    response = admin_client.post(f"/api/v1/ambulances/{ambulance.pk}/status", {"status": "available"}, format="json")
    assert response.status_code == 409 and _code(response) == "ambulance_busy"
    emergency = EmergencyFactory(hospital=hospital)
    response = admin_client.post(
        f"/api/v1/emergencies/{emergency.pk}/dispatch", {"ambulance_id": ambulance.pk}, format="json"
    )
    assert response.status_code == 409 and _code(response) == "ambulance_busy"


def test_an_ambulance_on_an_emergency_is_not_sent_on_a_transfer(admin_client, make_referral, ambulance, hospital):
    emergency = EmergencyFactory(hospital=hospital)
    assert admin_client.post(f"/api/v1/emergencies/{emergency.pk}/dispatch", {}, format="json").status_code == 200
    referral = make_referral(Status.ACCEPTED)
    response = _post(admin_client, referral, "dispatch", {"ambulance_id": ambulance.pk})
    assert response.status_code == 409 and _code(response) == "ambulance_busy"


# --- Complete ---------------------------------------------------------------------------------


def test_complete_admits_at_the_destination_discharges_the_origin_and_frees_the_ambulance(
    clients, people, make_referral, origin_admission, icu_bed, ambulance, patient, hospital, other_hospital
):
    referral = make_referral(Status.IN_TRANSIT)
    response = _post(clients["destination_doctor"], referral, "complete")
    assert response.status_code == 200 and response.json()["status"] == "completed"
    origin_admission.refresh_from_db()
    assert origin_admission.discharged_at is not None
    assert Bed.objects.get(pk=origin_admission.bed_id).status == BedStatus.CLEANING
    admission = Admission.objects.get(patient=patient, discharged_at__isnull=True)
    assert (admission.bed_id, admission.hospital_id) == (icu_bed.pk, other_hospital.pk)
    icu_bed.refresh_from_db()
    assert icu_bed.status == BedStatus.OCCUPIED and icu_bed.reserved_for_id is None
    ambulance.refresh_from_db()
    assert ambulance.status == Ambulance.Status.AVAILABLE
    assert [event["status"] for event in response.json()["events"]] == [
        "requested",
        "accepted",
        "in_transit",
        "completed",
    ]
    for topic in (f"hospital.{hospital.pk}.beds", f"hospital.{other_hospital.pk}.beds"):
        assert PendingEvent.objects.filter(topic=topic).exists()
    assert PendingEvent.objects.filter(topic=f"user.{patient.pk}", type="referral.completed").exists()
    entry = Activity.objects.filter(object_type="referral", object_id=str(referral.pk)).latest("id")
    assert entry.detail["status"] == "completed" and entry.detail["admission_id"] == admission.pk
    assert entry.detail["discharged_admission_id"] == origin_admission.pk


def test_complete_of_an_outpatient_only_admits(admin_client, make_referral, origin_admission, icu_bed, patient):
    referral = make_referral(Status.IN_TRANSIT)
    Admission.objects.filter(pk=origin_admission.pk).update(discharged_at=origin_admission.admitted_at)
    response = _post(admin_client, referral, "complete")
    assert response.status_code == 200
    assert Admission.objects.get(patient=patient, discharged_at__isnull=True).bed_id == icu_bed.pk


def test_complete_on_a_bed_taken_after_the_reservation_lapsed_is_409_and_changes_nothing(
    admin_client, make_referral, origin_admission, icu_bed, ambulance
):
    referral = make_referral(Status.IN_TRANSIT)
    Bed.objects.filter(pk=icu_bed.pk).update(
        status=BedStatus.OCCUPIED, reserved_for=None, reserved_until=None, reservation_reason=""
    )
    response = _post(admin_client, referral, "complete")
    assert response.status_code == 409 and _code(response) == "bed_occupied"
    origin_admission.refresh_from_db()
    referral.refresh_from_db()
    ambulance.refresh_from_db()
    assert origin_admission.discharged_at is None and referral.status == Status.IN_TRANSIT
    assert ambulance.status == Ambulance.Status.BUSY


# --- Cancel -----------------------------------------------------------------------------------


def test_cancel_of_an_accepted_referral_releases_the_bed(clients, make_referral, icu_bed):
    referral = make_referral(Status.ACCEPTED)
    response = _post(clients["origin_doctor"], referral, "cancel", {"reason": "Improved"})
    assert response.status_code == 200
    icu_bed.refresh_from_db()
    assert icu_bed.status == BedStatus.AVAILABLE and icu_bed.reserved_for_id is None
    assert response.json()["reserved_bed_id"] == icu_bed.pk  # kept as history


def test_cancel_in_transit_frees_the_bed_and_the_ambulance(admin_client, make_referral, icu_bed, ambulance):
    referral = make_referral(Status.IN_TRANSIT)
    response = _post(admin_client, referral, "cancel", {"reason": "Patient refused"})
    assert response.status_code == 200
    icu_bed.refresh_from_db()
    ambulance.refresh_from_db()
    assert icu_bed.status == BedStatus.AVAILABLE and ambulance.status == Ambulance.Status.AVAILABLE


def test_cancel_leaves_a_bed_that_was_taken_after_its_reservation_lapsed(admin_client, make_referral, icu_bed):
    referral = make_referral(Status.ACCEPTED)
    someone = UserFactory(role="user")
    Bed.objects.filter(pk=icu_bed.pk).update(reserved_for=someone)
    assert _post(admin_client, referral, "cancel", {"reason": "x"}).status_code == 200
    icu_bed.refresh_from_db()
    assert icu_bed.status == BedStatus.RESERVED and icu_bed.reserved_for_id == someone.pk


def test_cancel_needs_a_reason(admin_client, make_referral):
    referral = make_referral(Status.REQUESTED)
    response = _post(admin_client, referral, "cancel", {})
    assert response.status_code == 400 and response.json()["errors"][0]["attr"] == "reason"


# --- Visibility -------------------------------------------------------------------------------

HIDDEN = ["other_patient", "donor", "third_admin", "third_doctor"]
SEES = [role for role in ROLES if role not in HIDDEN]


@pytest.mark.parametrize("role", SEES + HIDDEN)
def test_detail_and_list_show_the_referral_to_both_hospitals_staff_the_patient_and_admin(clients, make_referral, role):
    referral = make_referral(Status.ACCEPTED)
    ReferralFactory()  # between two other hospitals, of another patient
    detail = clients[role].get(f"/api/v1/referrals/{referral.pk}")
    listed = clients[role].get("/api/v1/referrals").json()
    if role in SEES:
        assert detail.status_code == 200 and detail.json()["id"] == referral.pk
        shown = {row["id"] for row in listed["results"]}
        assert shown == {referral.pk} if role != "admin" else referral.pk in shown
    else:
        assert detail.status_code == 404
        assert listed["count"] == 0


def test_anonymous_is_401(api, make_referral):
    referral = make_referral(Status.REQUESTED)
    assert api.get("/api/v1/referrals").status_code == 401
    assert api.get(f"/api/v1/referrals/{referral.pk}").status_code == 401


def test_a_detail_read_is_audited(patient_client, patient, make_referral):
    referral = make_referral(Status.REQUESTED)
    patient_client.get(f"/api/v1/referrals/{referral.pk}")
    assert Activity.objects.filter(action="read", object_type="referral", object_id=str(referral.pk)).exists()


def test_a_hidden_step_is_404(clients, make_referral):
    referral = make_referral(Status.REQUESTED)
    assert _post(clients["third_admin"], referral, "cancel", {"reason": "x"}).status_code == 404


def test_referrals_are_never_deleted_or_edited(admin_client, make_referral):
    referral = make_referral(Status.REQUESTED)
    assert admin_client.delete(f"/api/v1/referrals/{referral.pk}").status_code == 405
    assert admin_client.patch(f"/api/v1/referrals/{referral.pk}", {"reason": "x"}, format="json").status_code == 405


# --- Filters and cost -------------------------------------------------------------------------


def test_filters(admin_client, make_referral, hospital, other_hospital):
    mine = make_referral(Status.ACCEPTED)
    elsewhere = ReferralFactory(to_hospital=hospital)

    def ids(query):
        response = admin_client.get(f"/api/v1/referrals?{query}")
        assert response.status_code == 200
        return {row["id"] for row in response.json()["results"]}

    assert ids("status=accepted") == {mine.pk}
    assert ids("status=requested") == {elsewhere.pk}
    assert ids(f"from_hospital_id={hospital.pk}") == {mine.pk}
    assert ids(f"to_hospital_id={hospital.pk}") == {elsewhere.pk}
    assert ids(f"to_hospital_id={other_hospital.pk}&status=accepted") == {mine.pk}
    assert ids("is_open=false") == set()
    assert admin_client.get("/api/v1/referrals?status=lost").status_code == 400
    assert admin_client.get("/api/v1/referrals?from_hospital_id=x").status_code == 400


def test_staff_see_referrals_of_their_hospital_in_either_direction(hospital_admin_client, hospital):
    outgoing, incoming = ReferralFactory(from_hospital=hospital), ReferralFactory(to_hospital=hospital)
    ReferralFactory()
    response = hospital_admin_client.get("/api/v1/referrals")
    assert {row["id"] for row in response.json()["results"]} == {outgoing.pk, incoming.pk}


@pytest.mark.parametrize("client_name", ["admin", "origin_admin", "patient"])
def test_list_query_count_does_not_grow_with_rows(
    clients, hospital, people, client_name, django_assert_max_num_queries
):
    for _ in range(12):
        referral = ReferralFactory(from_hospital=hospital, patient=people["patient"], status="rejected")
        referral.events.create(status="rejected", actor=people["admin"], note="no")
    client = clients[client_name]
    with django_assert_max_num_queries(6):
        response = client.get("/api/v1/referrals?page_size=100")
    assert response.status_code == 200 and response.json()["count"] == 12
