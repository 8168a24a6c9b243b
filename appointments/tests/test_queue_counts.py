"""The queues' waiting counters (appointments/queue_counts.py) against a recount: after every kind of
entry write through the API, on the queue board and the queue reads, under concurrent calls and
walk-ins, and through the command that checks and rebuilds them."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from appointments.queue_counts import QueueWaitingCount
from appointments.queue_models import WALK_IN_TOKEN_START, OpdQueue, QueueEntry
from appointments.queue_selectors import local_today
from appointments.queue_statements import CALL_NEXT_SQL
from appointments.tests.factories import AppointmentFactory, DoctorFactory, SlotFactory
from conftest import client_for, run_together

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="the counters are PostgreSQL's")


@pytest.fixture
def queue(doctor):
    return OpdQueue.objects.create(doctor=doctor, hospital=doctor.hospital, date=local_today(doctor.hospital.timezone))


def _recount(queue) -> int:
    return QueueEntry.objects.filter(queue=queue, status=QueueEntry.Status.WAITING).count()


def _kept(queue) -> int:
    return QueueWaitingCount.objects.filter(queue_id=queue.pk).values_list("n", flat=True).first() or 0


def _board_waiting(client, queue) -> int:
    board = client.get(f"/api/v1/hospitals/{queue.hospital_id}/queue-board").json()
    (row,) = [row for row in board["queues"] if row["doctor_id"] == queue.doctor_id]
    return row["waiting"]


def _assert_counted(client, queue, expected: int) -> None:
    assert _recount(queue) == expected
    assert _kept(queue) == expected
    assert _board_waiting(client, queue) == expected
    assert client.get(f"/api/v1/queues/{queue.pk}").json()["waiting"] == expected
    call_command("queue_counts", stdout=StringIO())  # exits 1 on any difference


@pytest.mark.django_db
def test_every_kind_of_entry_write_keeps_the_counter_equal_to_a_recount(hospital_admin, doctor, patient):
    client = client_for(hospital_admin)
    now = timezone.now()
    slot = SlotFactory(doctor=doctor, start=now - timedelta(hours=1), end=now - timedelta(minutes=30), capacity=5)
    appointments = [AppointmentFactory(slot=slot) for _ in range(2)]
    queue, _ = OpdQueue.objects.get_or_create(
        doctor=doctor, date=slot.local_date, defaults={"hospital_id": doctor.hospital_id}
    )
    _assert_counted(client, queue, 0)

    walk_ins = []
    for priority in ("normal", "senior", "urgent"):
        response = client.post(f"/api/v1/queues/{queue.pk}/entries", {"name": "W", "priority": priority}, format="json")
        assert response.status_code == 201, response.content
        walk_ins.append(response.json()["id"])
    _assert_counted(client, queue, 3)

    for appointment in appointments:  # checked in: they join with their tokens
        assert client.post(f"/api/v1/appointments/{appointment.pk}/check-in").status_code == 200
    _assert_counted(client, queue, 5)

    called = client.post(f"/api/v1/queues/{queue.pk}/call-next", {"room": "4"}, format="json")
    assert called.status_code == 200, called.content
    assert called.json()["id"] == walk_ins[2]  # urgent first
    _assert_counted(client, queue, 4)

    entry = f"/api/v1/queues/{queue.pk}/entries"
    assert client.post(f"{entry}/{walk_ins[0]}/skip").status_code == 200  # waiting -> skipped
    _assert_counted(client, queue, 3)
    assert client.post(f"{entry}/{walk_ins[0]}/recall").status_code == 200  # skipped -> called
    _assert_counted(client, queue, 3)
    assert client.post(f"{entry}/{walk_ins[2]}/start").status_code == 200  # called: no change
    assert client.post(f"{entry}/{walk_ins[2]}/done").status_code == 200
    _assert_counted(client, queue, 3)

    no_show = client.post(f"/api/v1/appointments/{appointments[0].pk}/no-show")  # the entry leaves
    assert no_show.status_code == 200, no_show.content
    _assert_counted(client, queue, 2)
    completed = client.post(f"/api/v1/appointments/{appointments[1].pk}/complete")  # waiting -> done
    assert completed.status_code == 200, completed.content
    _assert_counted(client, queue, 1)

    # A write outside the services (a console, the admin) is counted too: the trigger sees every row.
    QueueEntry.objects.filter(pk=walk_ins[1]).update(status="left")
    _assert_counted(client, queue, 0)
    QueueEntry.objects.filter(pk=walk_ins[1]).update(status="waiting")
    _assert_counted(client, queue, 1)


@pytest.mark.django_db
def test_the_counters_are_per_queue(hospital_admin, hospital, queue):
    other = OpdQueue.objects.create(
        doctor=DoctorFactory(hospital=hospital), hospital=hospital, date=local_today(hospital.timezone)
    )
    client = client_for(hospital_admin)
    for target, count in ((queue, 2), (other, 3)):
        for _ in range(count):
            assert client.post(f"/api/v1/queues/{target.pk}/entries", {"name": "W"}, format="json").status_code == 201
    assert client.post(f"/api/v1/queues/{other.pk}/call-next").status_code == 200
    _assert_counted(client, queue, 2)
    _assert_counted(client, other, 2)
    bulk = [QueueEntry(queue=queue, token=WALK_IN_TOKEN_START + 100 + n, name="B") for n in range(4)]
    bulk += [QueueEntry(queue=other, token=WALK_IN_TOKEN_START + 100 + n, name="B", status="left") for n in range(2)]
    QueueEntry.objects.bulk_create(bulk)  # one statement, many rows and queues
    _assert_counted(client, queue, 6)
    _assert_counted(client, other, 2)


@pytest.mark.django_db
def test_the_command_finds_a_tampered_counter_and_rebuild_mends_it(hospital_admin, queue):
    client = client_for(hospital_admin)
    for _ in range(3):
        client.post(f"/api/v1/queues/{queue.pk}/entries", {"name": "W"}, format="json")
    QueueWaitingCount.objects.filter(queue_id=queue.pk).update(n=7)
    out = StringIO()
    with pytest.raises(CommandError, match="1 figures differ"):
        call_command("queue_counts", stdout=out)
    assert f"queue {queue.pk}: counter 7 != recount 3" in out.getvalue()
    call_command("queue_counts", "--rebuild", stdout=StringIO())
    _assert_counted(client, queue, 3)
    call_command("queue_counts", "--install", stdout=StringIO())  # re-created triggers keep counting
    assert client.post(f"/api/v1/queues/{queue.pk}/call-next").status_code == 200
    _assert_counted(client, queue, 2)


@pytest.mark.django_db
def test_a_negative_counter_is_refused_by_the_database(queue):
    from django.db import IntegrityError, transaction

    QueueEntry.objects.create(queue=queue, token=WALK_IN_TOKEN_START, name="W")
    with pytest.raises(IntegrityError), transaction.atomic():
        QueueWaitingCount.objects.filter(queue_id=queue.pk).update(n=-1)
    assert _kept(queue) == 1


def test_call_next_reads_the_counter_not_a_count():
    board = CALL_NEXT_SQL.split("board AS (", 1)[1].split("\n),", 1)[0]
    assert "count(" not in board.lower()
    assert f"LEFT JOIN {QueueWaitingCount._meta.db_table} w ON w.queue_id = q.id" in board
    assert "COALESCE(w.n, 0)" in board


@pytest.mark.django_db(transaction=True)
def test_calls_and_walk_ins_racing_on_one_queue_leave_the_counter_exact(hospital_admin):
    doctor = DoctorFactory(hospital=hospital_admin.hospital)
    queue = OpdQueue.objects.create(doctor=doctor, hospital=doctor.hospital, date=local_today(doctor.hospital.timezone))
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
    assert _recount(queue) == 18 - calls
    assert _kept(queue) == 18 - calls
    call_command("queue_counts", stdout=StringIO())
