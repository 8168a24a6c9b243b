"""`emit()`: what a service calls, inside its transaction, for each change a topic shows."""

from feed.models import PendingEvent
from feed.topics import cached_topics
from hms.api.readcache import writes_committed


def emit(topic: str, type: str, data: dict) -> None:
    """Append one event to the feed in the caller's transaction: rolled back with it, committed with it.

    Call it from the service that makes the change, after the change (the event carries the state
    the change left), inside `transaction.atomic()`. It takes no lock and waits for no other writer;
    the event gets its public id once committed (`feed.reader.publish`). Cached reads of the topic
    (if a cached read follows it, `feed.topics.register(cached=)`) are invalidated at commit.
    """
    emit_many([(topic, type, data)])


def snapshot(row, id_key: str, fields: tuple[str, ...]) -> dict:
    """What an event carries about a row: its id under `id_key`, then each of `fields` as the row holds it
    (the services declare which fields their topics show)."""
    return {id_key: row.pk, **{name: getattr(row, name) for name in fields}}


def emit_many(events: list[tuple[str, str, dict]]) -> None:
    """Several events of one change, in one INSERT, in the order given."""
    if events:
        PendingEvent.objects.bulk_create(
            [PendingEvent(topic=topic, type=kind, data=data) for topic, kind, data in events]
        )
        writes_committed(topics=cached_topics(sorted({topic for topic, _kind, _data in events})))
