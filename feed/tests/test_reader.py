"""The feed's guarantees at the database: in the change's transaction, and never passed over."""

import threading

import pytest
import time_machine
from django.db import connection, transaction
from django.utils import timezone

from feed import reader
from feed.emit import emit, emit_many
from feed.models import Event, PendingEvent

pytestmark = pytest.mark.django_db(transaction=True)


def _published_after(position):
    reader.publish()
    return reader.read(position)


def test_rolled_back_write_emits_nothing():
    before = reader.position()
    with pytest.raises(RuntimeError), transaction.atomic():
        emit("hospital.1.beds", "beds.changed", {"free": 1})
        raise RuntimeError("the change fails after its event was written")
    assert _published_after(before) == []
    assert not PendingEvent.objects.exists() and not Event.objects.exists()


def test_committed_events_are_published_in_write_order_with_their_shape():
    emit_many([("hospital.1.beds", "beds.changed", {"free": 2}), ("hospital.1.slots", "slot.changed", {"n": 1})])
    emit("hospital.2.beds", "beds.changed", {"free": 0})
    assert reader.publish() == 3
    assert reader.publish() == 0
    messages = reader.read(0)
    assert [m["topic"] for m in messages] == ["hospital.1.beds", "hospital.1.slots", "hospital.2.beds"]
    ids = [m["id"] for m in messages]
    assert ids == sorted(ids) and len(set(ids)) == 3
    assert messages[0]["data"] == {"free": 2} and messages[0]["type"] == "beds.changed"
    assert set(messages[0]) == {"id", "at", "topic", "type", "data"}
    assert [m["data"] for m in reader.read(0, topics=["hospital.2.beds"])] == [{"free": 0}]
    assert not PendingEvent.objects.exists()


def test_a_transaction_held_open_while_later_ones_commit_is_never_passed_over():
    """A writes its event first and stays open while B and C commit: a reader that follows the feed
    the whole time receives all three, each id above the last one it had (A's comes after C's)."""
    written, release, done = threading.Event(), threading.Event(), threading.Event()

    def slow_writer():
        try:
            with transaction.atomic():
                emit("hospital.1.beds", "beds.changed", {"writer": "A"})
                written.set()
                release.wait(10)
        finally:
            connection.close()
            done.set()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    assert written.wait(10)
    emit("hospital.1.beds", "beds.changed", {"writer": "B"})
    emit("hospital.1.beds", "beds.changed", {"writer": "C"})
    received = _published_after(0)
    assert [m["data"]["writer"] for m in received] == ["B", "C"]
    release.set()
    assert done.wait(10)
    thread.join()
    received += _published_after(received[-1]["id"])
    assert [m["data"]["writer"] for m in received] == ["B", "C", "A"]
    ids = [m["id"] for m in received]
    assert ids == sorted(ids) and len(set(ids)) == 3


def test_concurrent_publishers_never_hand_out_an_id_below_a_visible_one():
    """Eight threads write and publish at once while a reader follows: every event arrives once."""
    barrier = threading.Barrier(8)
    seen: list[int] = []
    stop = threading.Event()

    def writer(n):
        try:
            barrier.wait(10)
            for i in range(25):
                emit(f"hospital.{n + 1}.beds", "beds.changed", {"n": n, "i": i})
                reader.publish()
        finally:
            connection.close()

    def follower():
        position = 0
        try:
            while not stop.is_set() or reader.position() > position:
                for message in reader.read(position):
                    assert message["id"] > position
                    position = message["id"]
                    seen.append(position)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    follow = threading.Thread(target=follower)
    follow.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    while reader.publish():
        pass
    stop.set()
    follow.join(60)
    assert len(seen) == len(set(seen)) == 200 == Event.objects.count()


def test_prune_marks_the_reset_point():
    with time_machine.travel(timezone.now() - timezone.timedelta(hours=100)):
        emit("hospital.1.beds", "beds.changed", {"old": True})
        reader.publish()
    emit("hospital.1.beds", "beds.changed", {"old": False})
    reader.publish()
    old_id, new_id = Event.objects.order_by("id").values_list("id", flat=True)
    assert reader.prune(hours=72) == 1
    assert reader.pruned_through() == old_id
    assert [m["id"] for m in reader.read(0)] == [new_id]
