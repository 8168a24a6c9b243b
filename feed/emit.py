"""`emit()`: what a service calls, inside its transaction, for each change a topic shows."""

from feed.models import PendingEvent


def emit(topic: str, type: str, data: dict) -> None:
    """Append one event to the feed in the caller's transaction: rolled back with it, committed with it.

    Call it from the service that makes the change, after the change (the event carries the state
    the change left), inside `transaction.atomic()`. It takes no lock and waits for no other writer;
    the event gets its public id once committed (`feed.publish`).
    """
    PendingEvent.objects.create(topic=topic, type=type, data=data)


def emit_many(events: list[tuple[str, str, dict]]) -> None:
    """Several events of one change, in one INSERT, in the order given."""
    if events:
        PendingEvent.objects.bulk_create(
            [PendingEvent(topic=topic, type=type, data=data) for topic, type, data in events]
        )
