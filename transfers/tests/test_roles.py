"""Who may take each step (API.md section 19), through the API: allowed roles 200/201, others 403 or 404."""

import pytest

from transfers.models import Referral
from transfers.tests.conftest import ROLES

pytestmark = pytest.mark.django_db

Status = Referral.Status
EVERYONE = list(ROLES)
# Roles that never act on referrals: 403 whatever the referral.
NOT_ACTING = {"origin_driver", "destination_driver", "patient", "other_patient", "donor"}
# Staff of a third hospital do not see the referral: 404.
HIDDEN = {"third_admin", "third_doctor"}

# action -> (status it starts from, body, the roles that may take it)
RULES = {
    "accept": (Status.REQUESTED, {}, {"admin", "destination_admin"}),
    "reject": (Status.REQUESTED, {"reason": "Full"}, {"admin", "destination_admin"}),
    "dispatch": (
        Status.ACCEPTED,
        {},
        {"admin", "origin_admin", "origin_doctor", "destination_admin", "destination_doctor"},
    ),
    "complete": (Status.IN_TRANSIT, {}, {"admin", "destination_admin", "destination_doctor"}),
    "cancel": (
        Status.REQUESTED,
        {"reason": "Changed plan"},
        {"admin", "origin_admin", "origin_doctor", "destination_admin", "destination_doctor"},
    ),
}
CASES = [(action, role) for action in RULES for role in EVERYONE]


def _expected(action: str, role: str) -> int:
    if role in RULES[action][2]:
        return 200
    if role in NOT_ACTING:
        return 403
    if role in HIDDEN:
        return 404
    return 403


@pytest.mark.parametrize(("action", "role"), CASES)
def test_each_step_by_each_role(clients, make_referral, action, role):
    start, body, _allowed = RULES[action]
    referral = make_referral(start)
    response = clients[role].post(f"/api/v1/referrals/{referral.pk}/{action}", body, format="json")
    expected = _expected(action, role)
    assert response.status_code == expected, response.json()
    referral.refresh_from_db()
    if expected == 200:
        assert referral.status != start
    else:
        assert referral.status == start  # a refused step changes nothing
        assert referral.events.count() == {Status.REQUESTED: 1, Status.ACCEPTED: 2, Status.IN_TRANSIT: 3}[start]


def test_the_event_names_who_took_the_step(clients, people, make_referral):
    referral = make_referral(Status.REQUESTED)
    response = clients["destination_admin"].post(f"/api/v1/referrals/{referral.pk}/accept", {}, format="json")
    assert response.json()["events"][-1]["by"] == people["destination_admin"].pk


CREATORS = {"admin": 201, "origin_admin": 201, "origin_doctor": 201}


@pytest.mark.parametrize("role", EVERYONE)
def test_request_by_each_role(clients, hospital, other_hospital, people, role):
    body = {
        "patient_id": people["patient"].pk,
        "from_hospital_id": hospital.pk,
        "to_hospital_id": other_hospital.pk,
        "reason": "Needs a cath lab",
        "bed_type": "icu",
        "urgency": "urgent",
    }
    response = clients[role].post("/api/v1/referrals", body, format="json")
    assert response.status_code == CREATORS.get(role, 403), response.json()
    assert Referral.objects.count() == (1 if role in CREATORS else 0)
    if role in CREATORS:
        data = response.json()
        assert data["status"] == "requested" and data["urgency"] == "urgent" and data["bed_type"] == "icu"
        assert data["from_hospital_id"] == hospital.pk and data["to_hospital_id"] == other_hospital.pk
        assert data["patient_id"] == people["patient"].pk
        assert data["reserved_bed_id"] is None and data["ambulance_id"] is None
        assert [event["status"] for event in data["events"]] == ["requested"]
        assert data["events"][0]["by"] == people[role].pk


# A body each step refuses (400 to a caller who may take the step).
INVALID_BODIES = {
    "accept": {"bed_id": "not-a-bed"},
    "reject": {"reason": ""},
    "dispatch": {"ambulance_id": -1},
    "complete": {},  # no body to validate
    "cancel": {"reason": "x" * 1001},
}
REFUSED_CASES = [(action, role) for action, role in CASES if role not in RULES[action][2]]


@pytest.mark.parametrize(("action", "role"), REFUSED_CASES)
def test_a_refused_caller_gets_403_or_404_before_the_body_is_validated(clients, make_referral, action, role):
    start = RULES[action][0]
    referral = make_referral(start)
    response = clients[role].post(f"/api/v1/referrals/{referral.pk}/{action}", INVALID_BODIES[action], format="json")
    assert response.status_code == _expected(action, role), response.json()
    referral.refresh_from_db()
    assert referral.status == start


@pytest.mark.parametrize("action", [action for action in RULES if INVALID_BODIES[action]])
def test_an_allowed_caller_with_an_invalid_body_gets_400(clients, make_referral, action):
    start = RULES[action][0]
    referral = make_referral(start)
    response = clients["admin"].post(f"/api/v1/referrals/{referral.pk}/{action}", INVALID_BODIES[action], format="json")
    assert response.status_code == 400, response.json()
    referral.refresh_from_db()
    assert referral.status == start
