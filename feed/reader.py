"""Numbering committed events (`publish`) and reading them in id order.

A change appends to `PendingEvent` in its own transaction. `publish()` numbers what has committed
there, under the one row lock on `FeedState`, and moves it to `Event` in the same transaction: the
numbers a publisher hands out are all visible the moment any of them is, and the next publisher
starts after it committed. So an `Event` id is never seen before a smaller one, and a reader that
has passed id N can never receive an id below N later (the outbox trap of sequences drawn at insert).
"""

from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.utils import timezone

from feed.models import Event, FeedState, PendingEvent

NOTIFY_CHANNEL = "hms_feed"
_FIELDS = ("id", "at", "topic", "type", "data")


def as_message(row) -> dict:
    return {"id": row[0], "at": row[1], "topic": row[2], "type": row[3], "data": row[4]}


def _new_ids(count: int) -> list[int]:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [Event._meta.db_table, count],
            )
            return sorted(row[0] for row in cursor.fetchall())
    # One writer at a time (SQLite): the next numbers after the highest kept or pruned.
    top = max(Event.objects.aggregate(top=Max("id"))["top"] or 0, pruned_through())
    return list(range(top + 1, top + count + 1))


def publish(*, limit: int = 1000) -> int | None:
    """Number up to `limit` committed pending events in the order they were written; the count, or
    None when another publisher holds the lock (its commit wakes the readers: try again soon)."""
    with transaction.atomic():
        state = FeedState.objects.select_for_update(skip_locked=True).filter(id=1).first()
        if state is None:
            if FeedState.objects.filter(id=1).exists():
                return None
            try:
                with transaction.atomic():
                    FeedState.objects.create(id=1, pruned_through=0)
            except IntegrityError:
                return None
            state = FeedState.objects.select_for_update().get(id=1)
        pending = list(PendingEvent.objects.order_by("seq")[:limit])
        if not pending:
            return 0
        ids = _new_ids(len(pending))
        Event.objects.bulk_create(
            [
                Event(id=number, at=row.at, topic=row.topic, type=row.type, data=row.data)
                for number, row in zip(ids, pending, strict=True)
            ]
        )
        PendingEvent.objects.filter(seq__in=[row.seq for row in pending]).delete()
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_notify(%s, '')", [NOTIFY_CHANNEL])
    return len(pending)


def read(after: int, *, topics=None, upto: int | None = None, limit: int = 500) -> list[dict]:
    """The published events with `after < id <= upto` (of `topics`, when given), in id order."""
    queryset = Event.objects.filter(id__gt=after)
    if topics is not None:
        queryset = queryset.filter(topic__in=list(topics))
    if upto is not None:
        queryset = queryset.filter(id__lte=upto)
    return [as_message(row) for row in queryset.order_by("id").values_list(*_FIELDS)[:limit]]


def position() -> int:
    """The highest published id (0 for an empty feed)."""
    return Event.objects.aggregate(top=Max("id"))["top"] or 0


def pruned_through() -> int:
    return FeedState.objects.filter(id=1).values_list("pruned_through", flat=True).first() or 0


@transaction.atomic
def prune(*, hours: int) -> int:
    """Delete events older than `hours`; a replay from below the newest deleted id gets `reset`."""
    cutoff = timezone.now() - timezone.timedelta(hours=hours)
    top = Event.objects.filter(at__lt=cutoff).aggregate(top=Max("id"))["top"]
    if top is None:
        return 0
    deleted, _ = Event.objects.filter(id__lte=top).delete()
    state, _ = FeedState.objects.select_for_update().get_or_create(id=1)
    if top > state.pruned_through:
        state.pruned_through = top
        state.save(update_fields=["pruned_through"])
    return deleted
