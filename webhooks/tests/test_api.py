"""/api/v1/webhooks through HTTP: roles, topic scoping, https only, SSRF at registration, the secret
shown once, updates, DELETE deactivates, the delivery log, redeliver and test ping."""

import pytest

from accounts.models import Activity
from accounts.tests.factories import UserFactory
from bloodbank.tests.factories import BloodBankFactory
from conftest import client_for
from webhooks.models import Webhook, WebhookDelivery
from webhooks.tests.factories import WebhookFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/webhooks"


def _codes(response):
    return [(error["code"], error["attr"]) for error in response.json()["errors"]]


def _create(client, url="https://hooks.example.com/in", topics=("hospital.1.beds",)):
    return client.post(URL, {"url": url, "topics": list(topics)}, format="json")


# --- registration per role ----------------------------------------------------------------------


def test_admin_registers_any_topic_and_gets_the_secret_once(admin_client, admin_user, hospital, public_dns):
    topics = [f"hospital.{hospital.pk}.beds", f"user.{admin_user.pk + 99}", "emergency.5"]
    response = _create(admin_client, topics=topics)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == {"id", "url", "topics", "is_active", "secret", "failure_count", "created_at"}
    assert body["topics"] == topics and body["is_active"] is True and body["failure_count"] == 0
    assert body["secret"].startswith("whsec_")
    import base64

    assert len(base64.b64decode(body["secret"].removeprefix("whsec_"))) >= 24
    webhook = Webhook.objects.get(pk=body["id"])
    assert webhook.secret == body["secret"] and webhook.hospital_id is None
    detail = admin_client.get(f"{URL}/{body['id']}")
    assert detail.status_code == 200 and "secret" not in detail.json()
    assert all("secret" not in row for row in admin_client.get(URL).json()["results"])
    assert Activity.objects.filter(object_type="webhook", object_id=webhook.pk, action="create").exists()


def test_hospital_admin_registers_its_hospitals_topics(hospital_admin_client, hospital, public_dns):
    bank = BloodBankFactory(hospital=hospital)
    topics = [f"hospital.{hospital.pk}.beds", f"hospital.{hospital.pk}.slots", f"bloodbank.{bank.pk}.stock"]
    response = _create(hospital_admin_client, topics=topics)
    assert response.status_code == 201, response.json()
    assert Webhook.objects.get(pk=response.json()["id"]).hospital_id == hospital.pk


@pytest.mark.parametrize("topic", ["hospital.{other}.beds", "hospital.{other}.slots", "bloodbank.{other_bank}.stock",
                                   "user.{someone}", "dashboard"])  # fmt: skip
def test_hospital_admin_cannot_subscribe_to_other_topics(hospital_admin_client, other_hospital, public_dns, topic):
    other_bank = BloodBankFactory(hospital=other_hospital)
    someone = UserFactory()
    name = topic.format(other=other_hospital.pk, other_bank=other_bank.pk, someone=someone.pk)
    response = _create(hospital_admin_client, topics=[name])
    assert response.status_code == 400
    assert _codes(response) == [("topic_not_allowed", "topics")]
    assert not Webhook.objects.exists()


def test_unknown_topic_is_400(admin_client, public_dns):
    response = _create(admin_client, topics=["nope.1"])
    assert response.status_code == 400 and _codes(response) == [("unknown_topic", "topics")]


@pytest.mark.parametrize("fixture", ["doctor_client", "driver_client", "patient_client"])
def test_other_roles_are_refused_with_403(request, fixture, public_dns, hospital):
    client = request.getfixturevalue(fixture)
    webhook = WebhookFactory()
    assert _create(client, topics=[f"hospital.{hospital.pk}.beds"]).status_code == 403
    assert client.get(URL).status_code == 403
    assert client.get(f"{URL}/{webhook.pk}").status_code == 403
    assert client.delete(f"{URL}/{webhook.pk}").status_code == 403
    assert Webhook.objects.get(pk=webhook.pk).is_active


def test_anonymous_is_401(api):
    assert api.get(URL).status_code == 401


def test_hospital_admin_sees_only_its_hospitals_webhooks(hospital_admin_client, hospital, other_hospital):
    own = WebhookFactory(hospital=hospital)
    other = WebhookFactory(hospital=other_hospital)
    admins = WebhookFactory()
    listed = [row["id"] for row in hospital_admin_client.get(URL).json()["results"]]
    assert listed == [own.pk]
    for hidden in (other, admins):
        assert hospital_admin_client.get(f"{URL}/{hidden.pk}").status_code == 404
        assert hospital_admin_client.patch(f"{URL}/{hidden.pk}", {"is_active": False}, format="json").status_code == 404
        assert hospital_admin_client.delete(f"{URL}/{hidden.pk}").status_code == 404
        assert hospital_admin_client.post(f"{URL}/{hidden.pk}/test").status_code == 404
        assert hospital_admin_client.get(f"{URL}/{hidden.pk}/deliveries").status_code == 404
    assert Webhook.objects.filter(is_active=True).count() == 3


# --- the URL: https only, SSRF at registration ---------------------------------------------------


@pytest.mark.parametrize("url", ["http://hooks.example.com/in", "ftp://hooks.example.com/", "hooks.example.com/in"])
def test_url_must_be_https(admin_client, public_dns, settings, url):
    settings.WEBHOOKS_ALLOW_PRIVATE = True  # private addresses allowed: https is still required
    response = _create(admin_client, url=url)
    assert response.status_code == 400 and response.json()["errors"][0]["attr"] == "url"
    assert response.json()["errors"][0]["code"] in ("url_not_https", "invalid")


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/in",
        "https://10.0.0.1/in",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/in",
        "https://[fd00:ec2::254]/in",
        "https://localhost:8443/in",
        "https://internal.example.com/in",  # a name resolving to a private address
        "https://mixed.example.com/in",  # one public and one private address
        "https://metadata.example.com/in",
    ],
)
def test_private_loopback_link_local_and_metadata_addresses_are_refused(admin_client, public_dns, url):
    response = _create(admin_client, url=url)
    assert response.status_code == 400, response.json()
    assert _codes(response) == [("url_private_address", "url")]
    assert not Webhook.objects.exists()


@pytest.mark.parametrize(
    "url", ["https://127.0.0.1/in", "https://[::1]/in", "https://localhost/in", "https://10.0.0.1/"]
)
def test_real_resolver_refuses_loopback_and_private(admin_client, settings, url):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    response = _create(admin_client, url=url)
    assert response.status_code == 400 and _codes(response) == [("url_private_address", "url")]


def test_allow_private_lets_private_addresses_through_but_never_metadata(admin_client, public_dns, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    assert _create(admin_client, url="https://internal.example.com/in").status_code == 201
    response = _create(admin_client, url="https://169.254.169.254/")
    assert response.status_code == 400 and _codes(response) == [("url_private_address", "url")]


def test_unresolvable_host_and_credentials_are_refused(admin_client, public_dns):
    assert _codes(_create(admin_client, url="https://nowhere.invalid/in")) == [("url_unresolvable", "url")]
    assert _codes(_create(admin_client, url="https://user:pw@hooks.example.com/in")) == [("url_invalid", "url")]


# --- update and delete ---------------------------------------------------------------------------


def test_update_checks_url_and_topics_again(hospital_admin_client, hospital, other_hospital, public_dns):
    webhook = WebhookFactory(hospital=hospital, url="https://hooks.example.com/a")
    path = f"{URL}/{webhook.pk}"
    response = hospital_admin_client.patch(path, {"url": "https://internal.example.com/x"}, format="json")
    assert response.status_code == 400 and _codes(response) == [("url_private_address", "url")]
    response = hospital_admin_client.patch(path, {"topics": [f"hospital.{other_hospital.pk}.beds"]}, format="json")
    assert response.status_code == 400 and _codes(response) == [("topic_not_allowed", "topics")]
    webhook.refresh_from_db()
    assert webhook.url == "https://hooks.example.com/a" and webhook.topics == [f"hospital.{hospital.pk}.beds"]
    new = {"url": "https://hooks.example.com/b", "topics": [f"hospital.{hospital.pk}.slots"]}
    response = hospital_admin_client.patch(path, new, format="json")
    assert response.status_code == 200 and response.json()["url"] == new["url"]
    assert response.json()["topics"] == new["topics"] and "secret" not in response.json()
    response = hospital_admin_client.put(path, {**new, "is_active": False}, format="json")
    assert response.status_code == 200 and response.json()["is_active"] is False


def test_delete_deactivates_and_keeps_the_record_and_deliveries(admin_client, public_dns):
    webhook = WebhookFactory()
    WebhookDelivery.objects.create(webhook=webhook, event_id=1, message_id="evt_1", event_type="x", payload={})
    response = admin_client.delete(f"{URL}/{webhook.pk}")
    assert response.status_code == 204
    webhook.refresh_from_db()
    assert webhook.is_active is False and webhook.deliveries.count() == 1
    assert admin_client.get(f"{URL}/{webhook.pk}").json()["is_active"] is False
    assert admin_client.get(f"{URL}/{webhook.pk}/deliveries").json()["count"] == 1


def test_reactivation_clears_the_failure_run(admin_client, public_dns):
    from django.utils import timezone

    webhook = WebhookFactory(is_active=False, failure_count=9, failing_since=timezone.now())
    response = admin_client.patch(f"{URL}/{webhook.pk}", {"is_active": True}, format="json")
    assert response.status_code == 200 and response.json() == {**response.json(), "is_active": True, "failure_count": 0}
    webhook.refresh_from_db()
    assert webhook.failing_since is None


# --- deliveries, redeliver, test ping ------------------------------------------------------------


def test_delivery_log_shape_and_query_bound(admin_client, django_assert_max_num_queries):
    webhook = WebhookFactory()
    WebhookDelivery.objects.bulk_create(
        WebhookDelivery(webhook=webhook, event_id=n, message_id=f"evt_{n}", event_type="bed.changed", payload={})
        for n in range(1, 31)
    )
    with django_assert_max_num_queries(6):
        response = admin_client.get(f"{URL}/{webhook.pk}/deliveries")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 30 and len(body["results"]) == 20
    assert set(body["results"][0]) == {
        "id", "event_id", "status", "attempts", "response_status", "last_error", "next_attempt_at"
    }  # fmt: skip
    assert body["results"][0]["event_id"] == 30 and body["results"][0]["status"] == "pending"


def test_webhook_list_query_bound(admin_client, django_assert_max_num_queries):
    WebhookFactory.create_batch(25)
    with django_assert_max_num_queries(5):
        response = admin_client.get(URL)
    assert response.status_code == 200 and response.json()["count"] == 25


def test_redeliver_makes_a_failed_delivery_pending_again(hospital_admin_client, hospital):
    webhook = WebhookFactory(hospital=hospital)
    delivery = WebhookDelivery.objects.create(
        webhook=webhook, event_id=7, message_id="evt_7", event_type="x", payload={},
        status="failed", attempts=8, next_attempt_at=None,
    )  # fmt: skip
    response = hospital_admin_client.post(f"{URL}/{webhook.pk}/deliveries/{delivery.pk}/redeliver")
    assert response.status_code == 202
    assert response.json()["status"] == "pending" and response.json()["attempts"] == 8
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.next_attempt_at is not None


def test_redeliver_of_another_webhooks_delivery_is_404(admin_client):
    one, two = WebhookFactory(), WebhookFactory()
    delivery = WebhookDelivery.objects.create(webhook=two, event_id=1, message_id="evt_1", event_type="x")
    assert admin_client.post(f"{URL}/{one.pk}/deliveries/{delivery.pk}/redeliver").status_code == 404
    assert admin_client.post(f"{URL}/{one.pk}/deliveries/999999/redeliver").status_code == 404


def test_test_ping_queues_a_ping_delivery(admin_client):
    webhook = WebhookFactory()
    response = admin_client.post(f"{URL}/{webhook.pk}/test")
    assert response.status_code == 202
    assert response.json()["event_id"] is None and response.json()["status"] == "pending"
    assert WebhookDelivery.objects.get(pk=response.json()["id"]).event_type == "webhook.ping"


def test_inactive_webhook_refuses_ping_and_redeliver_with_409(admin_client):
    webhook = WebhookFactory(is_active=False)
    delivery = WebhookDelivery.objects.create(webhook=webhook, event_id=1, message_id="evt_1", event_type="x")
    for path in (f"{URL}/{webhook.pk}/test", f"{URL}/{webhook.pk}/deliveries/{delivery.pk}/redeliver"):
        response = admin_client.post(path)
        assert response.status_code == 409 and _codes(response) == [("webhook_inactive", None)]


def test_idempotency_key_replays_the_creation(admin_client, public_dns, hospital):
    headers = {"HTTP_IDEMPOTENCY_KEY": "hook-1"}
    data = {"url": "https://hooks.example.com/in", "topics": [f"hospital.{hospital.pk}.beds"]}
    first = admin_client.post(URL, data, format="json", **headers)
    second = admin_client.post(URL, data, format="json", **headers)
    assert first.status_code == second.status_code == 201 and first.json() == second.json()
    assert Webhook.objects.count() == 1


def test_client_for_is_usable(hospital_admin):
    assert client_for(hospital_admin).get(URL).status_code == 200


def test_hospital_admin_private_topics_follow_the_feeds_own_rule(
    hospital_admin_client, hospital, other_hospital, public_dns
):
    from emergency.tests.factories import EmergencyFactory

    own, other = EmergencyFactory(hospital=hospital), EmergencyFactory(hospital=other_hospital)
    assert _create(hospital_admin_client, topics=[f"emergency.{own.pk}"]).status_code == 201
    response = _create(hospital_admin_client, topics=[f"emergency.{other.pk}"])
    assert response.status_code == 400 and _codes(response) == [("topic_not_allowed", "topics")]


JUNK = [
    {},
    {"url": 5, "topics": "hospital.1.beds"},
    {"url": "https://hooks.example.com/in", "topics": []},
    {"url": "https://hooks.example.com/in", "topics": [None]},
    {"url": "https://hooks.example.com/in", "topics": [{"a": 1}]},
    {"url": "https://hooks.example.com/in", "topics": ["x" * 5000]},
    {"url": "https://hooks.example.com/in", "topics": ["hospital.99999999999999999999.beds"]},
    {"url": "https://hooks.example.com/in", "topics": ["hospital.1.beds"] * 60},
    {"url": "https://hooks.example.com:99999/in", "topics": ["hospital.1.beds"]},
    {"url": "https://" + "a" * 300 + ".example.com/", "topics": ["hospital.1.beds"]},
    {"url": "https://xn--nxasmq6b.example.com/", "topics": ["hospital.1.beds"]},
    {"url": "https://[fe80::1%25eth0]/", "topics": ["hospital.1.beds"]},
    {"url": "https://0x7f000001/", "topics": ["hospital.1.beds"]},
    {"url": "https://hooks.example.com/" + "p" * 3000, "topics": ["hospital.1.beds"]},
    {"url": "https://hooks.example.com/in", "topics": ["hospital.1.beds"], "is_active": "maybe"},
    ["not", "an", "object"],
]


@pytest.mark.parametrize("body", JUNK)
def test_junk_never_answers_500(admin_client, hospital_admin_client, hospital, body, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = False  # the real resolver: nothing here resolves to a public address
    webhook = WebhookFactory(hospital=hospital)
    for client in (admin_client, hospital_admin_client):
        for method, path in (("post", URL), ("put", f"{URL}/{webhook.pk}"), ("patch", f"{URL}/{webhook.pk}")):
            response = getattr(client, method)(path, body, format="json")
            assert response.status_code in (200, 201, 400), (method, body, response.content)
    for path in (f"{URL}/abc", f"{URL}/{webhook.pk}/deliveries/abc/redeliver", f"{URL}/99999999999999999999"):
        assert admin_client.post(path).status_code in (404, 405)
    assert admin_client.get(f"{URL}/{webhook.pk}/deliveries", {"page": "x"}).status_code in (400, 404)
    assert admin_client.get(URL, {"is_active": "maybe"}).status_code == 400
