"""Every pair of the referral machine through the API: each action from each status, allowed or 409."""

import pytest

from transfers.models import Referral

pytestmark = pytest.mark.django_db

Status = Referral.Status
# action -> (the status it leads to, its body)
ACTIONS = {
    "accept": (Status.ACCEPTED, {}),
    "reject": (Status.REJECTED, {"reason": "No specialist on duty"}),
    "dispatch": (Status.IN_TRANSIT, {}),
    "complete": (Status.COMPLETED, {}),
    "cancel": (Status.CANCELLED, {"reason": "Family declined"}),
}
PAIRS = [(status, action) for status in Status.values for action in ACTIONS]


def test_the_table_is_the_contract():
    assert {
        Status.REQUESTED: {Status.ACCEPTED, Status.REJECTED, Status.CANCELLED},
        Status.ACCEPTED: {Status.IN_TRANSIT, Status.CANCELLED},
        Status.IN_TRANSIT: {Status.COMPLETED, Status.CANCELLED},
        Status.REJECTED: set(),
        Status.COMPLETED: set(),
        Status.CANCELLED: set(),
    } == Referral.TRANSITIONS


@pytest.mark.parametrize(("status", "action"), PAIRS)
def test_each_action_from_each_status_moves_or_is_refused_with_409(admin_client, make_referral, status, action):
    referral = make_referral(status)
    events_before = referral.events.count()
    target, body = ACTIONS[action]
    response = admin_client.post(f"/api/v1/referrals/{referral.pk}/{action}", body, format="json")
    referral.refresh_from_db()
    if target in Referral.TRANSITIONS[status]:
        assert response.status_code == 200, response.json()
        assert response.json()["status"] == target == referral.status
        assert response.json()["events"][-1]["status"] == target
        assert referral.events.count() == events_before + 1
    else:
        assert response.status_code == 409, response.json()
        assert response.json()["errors"][0]["code"] == "illegal_transition"
        assert referral.status == status
        assert referral.events.count() == events_before
