"""Queue races on PostgreSQL with real threads: desks calling next at once never get one entry, and
walk-ins added at once never share a token."""

import pytest

from appointments.queue_models import WALK_IN_TOKEN_START, OpdQueue, QueueEntry
from appointments.queue_selectors import local_today
from conftest import client_for, run_together

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def queue(doctor):
    return OpdQueue.objects.create(doctor=doctor, hospital=doctor.hospital, date=local_today(doctor.hospital.timezone))


def test_twenty_desks_calling_next_at_once_never_get_the_same_entry(queue, hospital_admin):
    for index in range(15):
        QueueEntry.objects.create(
            queue=queue, token=WALK_IN_TOKEN_START + index, name=f"p{index}", priority=("normal", "senior")[index % 2]
        )
    clients = [client_for(hospital_admin) for _ in range(20)]

    def call(client):
        return lambda: client.post(f"/api/v1/queues/{queue.pk}/call-next", {"room": "1"}, format="json")

    responses = run_together([call(client) for client in clients])
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] * 15 + [409] * 5
    called = [response.json()["id"] for response in responses if response.status_code == 200]
    assert len(set(called)) == 15
    refused = [response for response in responses if response.status_code == 409]
    assert all(response.json()["errors"][0]["code"] == "queue_empty" for response in refused)
    assert QueueEntry.objects.filter(queue=queue, status="called").count() == 15
    assert QueueEntry.objects.filter(queue=queue, status="waiting").count() == 0


def test_walk_ins_added_at_once_get_distinct_consecutive_tokens(queue, hospital_admin):
    clients = [client_for(hospital_admin) for _ in range(12)]

    def add(client, index):
        return lambda: client.post(f"/api/v1/queues/{queue.pk}/entries", {"name": f"w{index}"}, format="json")

    responses = run_together([add(client, index) for index, client in enumerate(clients)])
    assert [response.status_code for response in responses] == [201] * 12, [r.json() for r in responses][:2]
    tokens = sorted(response.json()["token"] for response in responses)
    assert tokens == list(range(WALK_IN_TOKEN_START, WALK_IN_TOKEN_START + 12))


def test_calls_and_walk_ins_racing_on_one_queue_all_land(queue, hospital_admin):
    """Desks calling next while walk-ins are added to the same queue: every walk-in is added, every call
    either calls an entry or finds none, and nothing waits on another in a cycle (no deadlock, no 5xx)."""
    QueueEntry.objects.bulk_create(
        [QueueEntry(queue=queue, token=WALK_IN_TOKEN_START + 500 + n, name=f"p{n}") for n in range(10)]
    )
    callers = [client_for(hospital_admin) for _ in range(12)]
    adders = [client_for(hospital_admin) for _ in range(8)]

    def call(client):
        return lambda: client.post(f"/api/v1/queues/{queue.pk}/call-next", {"room": "2"}, format="json").status_code

    def add(client, index):
        return lambda: (
            client.post(f"/api/v1/queues/{queue.pk}/entries", {"name": f"w{index}"}, format="json").status_code
        )

    statuses = run_together([call(c) for c in callers] + [add(c, i) for i, c in enumerate(adders)])
    assert statuses[12:] == [201] * 8
    assert set(statuses[:12]) <= {200, 409}
    calls = statuses[:12].count(200)
    assert QueueEntry.objects.filter(queue=queue, status="called").count() == calls
    assert QueueEntry.objects.filter(queue=queue, status="waiting").count() == 18 - calls
