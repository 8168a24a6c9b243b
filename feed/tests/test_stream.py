"""The feed as clients see it: real uvicorn hosts on the test database, SSE and WebSocket clients."""

import json
import time

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from accounts.tests.factories import HospitalFactory, UserFactory
from feed import reader
from feed.emit import emit
from feed.models import FeedState
from feed.sse_client import SSE
from feed.tests.live import publish_all, request
from feed.tests.live import token as _token

pytestmark = pytest.mark.django_db(transaction=True)


def _beds(hospital) -> str:
    return f"hospital.{hospital.pk}.beds"


def _ids(events):
    return [event["id"] for event in events]


def test_stream_sends_committed_events_in_id_order_with_the_contract_shape(hosts):
    host, _ = hosts
    hospital = HospitalFactory()
    stream = SSE(f"{host.base}/api/v1/events/stream?topics={_beds(hospital)}")
    assert stream.status == 200
    assert stream.headers["content-type"].startswith("text/event-stream")
    time.sleep(0.3)
    for n in range(5):
        emit(_beds(hospital), "beds.changed", {"n": n})
    events = stream.wait_for(lambda events: len(events) >= 5)
    assert [event["data"]["n"] for event in events] == [0, 1, 2, 3, 4]
    assert _ids(events) == sorted(_ids(events))
    assert all(event["sse_id"] == str(event["id"]) and event["event"] == "beds.changed" for event in events)
    assert set(events[0]) - {"sse_id", "event"} == {"id", "at", "topic", "type", "data"}
    stream.close()


def test_snapshot_first_sends_the_current_availability(hosts):
    host, _ = hosts
    hospital = HospitalFactory()
    stream = SSE(f"{host.base}/api/v1/events/stream?topics={_beds(hospital)}&snapshot=true")
    events = stream.wait_for(lambda events: len(events) >= 1)
    assert events[0]["type"] == "snapshot" and events[0]["topic"] == _beds(hospital)
    status, availability = request("GET", f"{host.base}/api/v1/hospitals/{hospital.pk}/availability")
    assert status == 200
    assert {k: v for k, v in events[0]["data"].items() if k != "as_of"} == {
        k: v for k, v in availability.items() if k != "as_of"
    }
    stream.close()


def test_a_host_receives_writes_published_through_another_and_replays_across_a_reconnect(hosts):
    """Stream from host A; writes keep coming while the client disconnects and comes back with
    Last-Event-ID: every event exactly once, in id order."""
    first, second = hosts
    hospital = HospitalFactory()
    topic = _beds(hospital)
    stream = SSE(f"{first.base}/api/v1/events/stream?topics={topic}")
    time.sleep(0.3)
    for n in range(10):
        emit(topic, "beds.changed", {"n": n})
    stream.wait_for(lambda events: len(events) >= 10)
    stream.close()
    seen = list(stream.events)
    for n in range(10, 20):
        emit(topic, "beds.changed", {"n": n})
        # Another host's publisher numbers them: the polling list served by host B.
    status, page = request("GET", f"{second.base}/api/v1/events?topics={topic}&after={seen[-1]['id']}")
    assert status == 200 and [e["data"]["n"] for e in page["results"]] == list(range(10, 20))
    resumed = SSE(f"{first.base}/api/v1/events/stream?topics={topic}", last_event_id=seen[-1]["id"])
    for n in range(20, 25):
        emit(topic, "beds.changed", {"n": n})
    resumed.wait_for(lambda events: len(events) >= 15)
    time.sleep(0.5)
    received = seen + resumed.events
    assert [event["data"]["n"] for event in received] == list(range(25))
    assert _ids(received) == sorted(set(_ids(received)))
    resumed.close()


def test_replay_from_before_the_retention_gets_one_reset(hosts):
    host, _ = hosts
    hospital = HospitalFactory()
    emit(_beds(hospital), "beds.changed", {"n": 1})
    emit(_beds(hospital), "beds.changed", {"n": 2})
    publish_all()
    first, second = reader.read(0, topics=[_beds(hospital)])
    # As `prune_events` leaves it after deleting both: a client that had the first missed the second.
    FeedState.objects.update_or_create(id=1, defaults={"pruned_through": second["id"]})
    stream = SSE(f"{host.base}/api/v1/events/stream?topics={_beds(hospital)}", last_event_id=first["id"])
    events = stream.wait_for(lambda events: len(events) >= 1)
    assert events[0]["type"] == "reset"
    stream.close()


def test_heartbeat_comments_keep_an_idle_stream_open(hosts):
    host, _ = hosts
    stream = SSE(f"{host.base}/api/v1/events/stream?topics={_beds(HospitalFactory())}")
    time.sleep(4.5)  # the hosts beat every 2 s here (EVENTS_HEARTBEAT_SECONDS)
    assert stream.comments >= 2 and not stream.closed.is_set()
    stream.close()


@pytest.mark.parametrize(
    ("topic", "status", "code"),
    [
        ("nonsense", 400, "unknown_topic"),
        ("hospital.x.beds", 400, "unknown_topic"),
        ("user.1", 401, "not_authenticated"),
    ],
)
def test_stream_refuses_unknown_and_private_topics_in_the_error_shape(hosts, topic, status, code):
    host, _ = hosts
    stream = SSE(f"{host.base}/api/v1/events/stream?topics={topic}")
    assert stream.status == status
    assert stream.body["errors"][0]["code"] == code


def test_hidden_topics_are_404_for_every_role_that_may_not_see_them(hosts):
    host, _ = hosts
    hospital, other = HospitalFactory(), HospitalFactory(is_active=False)
    patient, someone = UserFactory(role="user"), UserFactory(role="user")
    nurse = UserFactory(role="doctor", hospital=hospital)
    for user, topic in [
        (someone, f"user.{patient.pk}"),  # another user's topic
        (nurse, f"user.{patient.pk}"),
        (patient, f"hospital.{other.pk}.beds"),  # a deactivated hospital
        (patient, "hospital.999999.beds"),  # no such hospital
    ]:
        stream = SSE(f"{host.base}/api/v1/events/stream?topics={topic}", token=_token(user))
        assert (stream.status, stream.body["errors"][0]["code"]) == (404, "not_found"), (user.role, topic)
    own = SSE(f"{host.base}/api/v1/events/stream?topics=user.{patient.pk}", token=_token(patient))
    assert own.status == 200
    own.close()


def test_a_stream_is_closed_when_its_user_is_deactivated(hosts):
    host, _ = hosts
    patient = UserFactory(role="user")
    stream = SSE(f"{host.base}/api/v1/events/stream?topics=user.{patient.pk}", token=_token(patient))
    assert stream.status == 200
    type(patient).objects.filter(pk=patient.pk).update(is_active=False)
    assert stream.closed.wait(5)  # re-checked every second on these hosts (60 s at most by default)


def test_ticket_opens_one_stream_once_for_its_own_topics(hosts):
    host, _ = hosts
    patient = UserFactory(role="user")
    topic = f"user.{patient.pk}"
    status, body = request("POST", f"{host.base}/api/v1/events/tickets", {"topics": [topic]}, token=_token(patient))
    assert status == 201 and body["ticket"] and body["expires_at"]
    other = SSE(f"{host.base}/api/v1/events/stream?topics=dashboard&ticket={body['ticket']}")
    assert other.status == 403  # not the ticket's topics (and the ticket is spent)
    status, body = request("POST", f"{host.base}/api/v1/events/tickets", {"topics": [topic]}, token=_token(patient))
    stream = SSE(f"{host.base}/api/v1/events/stream?ticket={body['ticket']}")
    assert stream.status == 200
    emit(topic, "appointment.booked", {"appointment_id": 1})
    assert stream.wait_for(lambda events: len(events) >= 1)[0]["topic"] == topic
    again = SSE(f"{host.base}/api/v1/events/stream?ticket={body['ticket']}")
    assert again.status == 401 and again.body["errors"][0]["code"] == "invalid_ticket"
    stream.close()
    hidden = request("POST", f"{host.base}/api/v1/events/tickets", {"topics": ["user.1"]}, token=_token(UserFactory()))
    assert hidden[0] == 404


def test_polling_list_pages_the_feed_with_the_same_permissions(hosts):
    host, _ = hosts
    hospital = HospitalFactory()
    for n in range(3):
        emit(_beds(hospital), "beds.changed", {"n": n})
    status, page = request("GET", f"{host.base}/api/v1/events?topics={_beds(hospital)}&limit=2")
    assert status == 200 and page["has_more"] and len(page["results"]) == 2
    status, rest = request("GET", f"{host.base}/api/v1/events?topics={_beds(hospital)}&after={page['last_id']}")
    assert [e["data"]["n"] for e in page["results"] + rest["results"]] == [0, 1, 2]
    assert request("GET", f"{host.base}/api/v1/events?topics=user.1")[0] == 401
    assert request("GET", f"{host.base}/api/v1/events?topics=bogus")[0] == 400
    assert request("GET", f"{host.base}/api/v1/events?topics={_beds(hospital)}&after=x")[0] == 400


# --- WebSocket ------------------------------------------------------------------------------------


def _ws(host):
    return connect(f"ws://127.0.0.1:{host.port}/ws/v1/events", open_timeout=10)


def _receive(ws, timeout=10):
    return json.loads(ws.recv(timeout=timeout))


def test_websocket_subscribes_and_receives_events_with_the_contract_shape(hosts):
    host, _ = hosts
    hospital = HospitalFactory()
    with _ws(host) as ws:
        ws.send(json.dumps({"action": "subscribe", "topics": [_beds(hospital)]}))
        assert _receive(ws) == {"type": "subscribed", "topics": [_beds(hospital)]}
        emit(_beds(hospital), "beds.changed", {"n": 7})
        event = _receive(ws)
        assert event["topic"] == _beds(hospital) and event["data"] == {"n": 7} and event["type"] == "beds.changed"
        ws.send(json.dumps({"action": "unsubscribe", "topics": [_beds(hospital)]}))
        assert _receive(ws) == {"type": "subscribed", "topics": []}


def test_websocket_replays_from_last_event_id(hosts):
    host, _ = hosts
    hospital = HospitalFactory()
    for n in range(3):
        emit(_beds(hospital), "beds.changed", {"n": n})
    publish_all()
    first_id = reader.read(0, topics=[_beds(hospital)])[0]["id"]
    with _ws(host) as ws:
        ws.send(json.dumps({"action": "subscribe", "topics": [_beds(hospital)], "last_event_id": first_id}))
        assert _receive(ws)["type"] == "subscribed"
        assert [_receive(ws)["data"]["n"] for _ in range(2)] == [1, 2]


@pytest.mark.parametrize(
    "message",
    ["not json", "[1, 2]", '{"action": "dance"}', '{"action": "subscribe", "topics": "x"}', '{"action": "auth"}'],
)
def test_malformed_websocket_messages_close_with_4400(hosts, message):
    host, _ = hosts
    with _ws(host) as ws:
        ws.send(message)
        assert _receive(ws)["type"] == "error"
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
        assert closed.value.rcvd.code == 4400
    # the host lives on
    assert request("GET", f"{host.base}/health")[0] == 200


def test_websocket_hidden_topic_closes_4404_and_private_without_auth_4401(hosts):
    host, _ = hosts
    patient = UserFactory(role="user")
    for messages, code in [
        ([{"action": "subscribe", "topics": [f"user.{patient.pk}"]}], 4401),
        (
            [
                {"action": "auth", "token": _token(UserFactory())},
                {"action": "subscribe", "topics": [f"user.{patient.pk}"]},
            ],
            4404,
        ),
        ([{"action": "auth", "token": "not-a-token"}], 4401),
    ]:
        with _ws(host) as ws:
            for message in messages:
                ws.send(json.dumps(message))
            assert _receive(ws)["type"] == "error"
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=5)
            assert closed.value.rcvd.code == code


def test_websocket_is_cut_off_when_the_user_is_deactivated(hosts):
    host, _ = hosts
    patient = UserFactory(role="user")
    with _ws(host) as ws:
        ws.send(json.dumps({"action": "auth", "token": _token(patient)}))
        ws.send(json.dumps({"action": "subscribe", "topics": [f"user.{patient.pk}"]}))
        assert _receive(ws)["type"] == "subscribed"
        type(patient).objects.filter(pk=patient.pk).update(is_active=False)
        assert _receive(ws, timeout=5)["code"] == "not_authenticated"
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
        assert closed.value.rcvd.code == 4401


def test_a_stream_is_closed_when_its_token_is_revoked_by_logout(hosts):
    host, other = hosts
    patient = UserFactory(role="user")
    token = _token(patient)
    stream = SSE(f"{host.base}/api/v1/events/stream?topics=user.{patient.pk}", token=token)
    assert stream.status == 200
    assert request("POST", f"{other.base}/api/v1/auth/logout", {}, token=token)[0] == 200
    assert stream.closed.wait(5)  # re-checked every second on these hosts (60 s at most by default)
    again = SSE(f"{host.base}/api/v1/events/stream?topics=user.{patient.pk}", token=token)
    assert again.status == 401
