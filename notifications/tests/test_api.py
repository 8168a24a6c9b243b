"""The inbox and preferences through the API, for every role: the caller's own only."""

import pytest

from notifications.models import Notification
from notifications.tests.conftest import notify

URL = "/api/v1/notifications"
ROLES = ["admin_user", "hospital_admin", "doctor_user", "driver_user", "patient", "donor"]


@pytest.mark.parametrize("role", ROLES)
def test_each_role_lists_only_its_own_notifications(role, request, other_patient):
    from conftest import client_for

    user = request.getfixturevalue(role)
    mine = notify(user, "k:1", title="Yours")
    notify(other_patient, "k:1", title="Not yours")
    response = client_for(user).get(URL)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    item = body["results"][0]
    assert item["id"] == mine.pk and item["title"] == "Yours" and item["body"] == "A message."
    assert set(item) == {"id", "category", "event", "title", "body", "data", "created_at", "read_at", "deliveries"}
    assert item["read_at"] is None and item["category"] == "account" and item["event"] == "test.message"
    channels = {delivery["channel"]: delivery for delivery in item["deliveries"]}
    assert set(channels) == {"in_app", "email", "sms"}
    assert channels["in_app"]["status"] == "sent" and channels["in_app"]["sent_at"]
    assert set(channels["email"]) == {"channel", "status", "attempts", "sent_at"}


def test_another_users_notification_is_404(patient_client, other_patient):
    theirs = notify(other_patient, "k:1")
    assert patient_client.get(f"{URL}/{theirs.pk}").status_code == 404
    assert patient_client.post(f"{URL}/{theirs.pk}/read").status_code == 404
    assert Notification.objects.get(pk=theirs.pk).read_at is None


def test_anonymous_is_401(api):
    assert api.get(URL).status_code == 401
    assert api.get(f"{URL}/preferences").status_code == 401
    assert api.post(f"{URL}/read-all").status_code == 401


def test_read_marks_one_and_unread_filters(patient, patient_client):
    first, second = notify(patient, "k:1"), notify(patient, "k:2")
    response = patient_client.post(f"{URL}/{first.pk}/read")
    assert response.status_code == 200 and response.json()["read_at"]
    read_at = response.json()["read_at"]
    assert patient_client.post(f"{URL}/{first.pk}/read").json()["read_at"] == read_at  # the first time kept
    unread = patient_client.get(URL, {"unread": "true"}).json()
    assert [item["id"] for item in unread["results"]] == [second.pk]
    read = patient_client.get(URL, {"unread": "false"}).json()
    assert [item["id"] for item in read["results"]] == [first.pk]
    assert patient_client.get(f"{URL}/{first.pk}").json()["read_at"] == read_at


def test_read_all_marks_only_the_callers(patient, patient_client, other_patient):
    notify(patient, "k:1"), notify(patient, "k:2")
    theirs = notify(other_patient, "k:1")
    response = patient_client.post(f"{URL}/read-all")
    assert response.status_code == 200 and response.json() == {"marked": 2}
    assert not Notification.objects.filter(user=patient, read_at__isnull=True).exists()
    assert Notification.objects.get(pk=theirs.pk).read_at is None
    assert patient_client.post(f"{URL}/read-all/").json() == {"marked": 0}


def test_notifications_are_read_only(patient, patient_client):
    mine = notify(patient, "k:1")
    assert patient_client.post(URL, {}).status_code == 405
    assert patient_client.delete(f"{URL}/{mine.pk}").status_code == 405
    assert patient_client.patch(f"{URL}/{mine.pk}", {"title": "x"}).status_code == 405


def test_bad_unread_value_is_400(patient_client):
    assert patient_client.get(URL, {"unread": "maybe"}).status_code == 400
    assert patient_client.get(URL, {"category": "marketing"}).status_code == 400


@pytest.mark.parametrize("path", ["99999999999999999999999", "abc", "-1", "0"])
def test_odd_ids_are_404(patient_client, path):
    assert patient_client.get(f"{URL}/{path}").status_code == 404
    assert patient_client.post(f"{URL}/{path}/read").status_code == 404


@pytest.mark.parametrize("body", [[], "x", {"email": None}, {"email": "x"}, {"sms": {"blood": None}}])
def test_junk_preferences_are_400(patient_client, body):
    assert patient_client.put(f"{URL}/preferences", body, format="json").status_code == 400


def test_list_costs_a_bounded_number_of_queries(patient, patient_client, django_assert_max_num_queries):
    for number in range(30):
        notify(patient, f"k:{number}")
    with django_assert_max_num_queries(8):
        response = patient_client.get(URL, {"page_size": 30})
    assert len(response.json()["results"]) == 30


def test_preferences_default_on_where_the_user_has_an_address(patient, patient_client):
    categories = ["appointments", "blood", "emergency", "account"]
    body = patient_client.get(f"{URL}/preferences").json()
    assert body == {"email": dict.fromkeys(categories, True), "sms": dict.fromkeys(categories, False)}
    patient.phone_num = "+15550001111"
    patient.save(update_fields=["phone_num"])
    assert patient_client.get(f"{URL}/preferences/").json()["sms"] == dict.fromkeys(categories, True)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_changes_its_own_preferences(role, request, patient):
    from conftest import client_for

    user = request.getfixturevalue(role)
    response = client_for(user).put(f"{URL}/preferences", {"email": {"blood": False}, "sms": {"account": True}})
    assert response.status_code == 200
    assert response.json()["email"]["blood"] is False and response.json()["sms"]["account"] is True
    assert response.json()["email"]["appointments"] is True
    again = client_for(user).get(f"{URL}/preferences").json()
    assert again == response.json()
    if user != patient:
        assert client_for(patient).get(f"{URL}/preferences").json()["email"]["blood"] is True


@pytest.mark.parametrize(
    ("body", "attr"),
    [
        ({"email": {"marketing": False}}, "email"),
        ({"email": {"blood": "perhaps"}}, "email.blood"),
        ({"push": {"blood": False}}, "push"),
        ({"sms": []}, "sms.non_field_errors"),
    ],
)
def test_bad_preferences_are_400(patient_client, body, attr):
    response = patient_client.put(f"{URL}/preferences", body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["attr"] == attr
