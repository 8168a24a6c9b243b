# ruff: noqa: S608 - every statement here is built from this module's constants and Django's table names
"""How many entries wait in each OPD queue, kept by the database (PostgreSQL).

The queue board (API.md section 17: `GET /queues/board`, the lobby display, every `queue.changed`
event, and the event inside call-next's one statement) shows `waiting` for every queue of the
hospital's day. Counting them reads each waiting entry of each of those queues, on a table that
call-next updates all day (so the index alone cannot answer: most entries need a visit to the table
for their visibility). Instead, a trigger on the entry table keeps one row per queue in
`QueueWaitingCount`, in the transaction that adds, calls, skips, recalls, starts, finishes or settles
an entry, whatever wrote it (the services, call-next's SQL, the Django admin, a console); the board
reads one row per queue.

Locks. The trigger updates the queue's counter row in place, so that row stays locked until the
writing transaction ends: writers of *one* queue line up there (for the rest of their transaction:
call-next, one statement, holds it only while it commits), writers of different queues never meet.
It cannot deadlock: the trigger runs at the end of the statement that changed the entry, so the
counter row is the last lock of that statement, and no transaction changes entries of one queue in
more than one statement (services/queues.py changes one entry per transaction; bulk inserts, such
as the benchmark's, take their counter rows in queue order).

The database keeps `n >= 0` as the backstop; `manage.py queue_counts` compares every counter with a
recount (exit 1 on a difference), `--rebuild` recounts, `--install` re-creates the triggers (after
restoring a dump made without them). appointments/tests/test_queue_counts.py holds the counters to
a recount after every kind of write, and under concurrent calls and walk-ins. SQLite (`make run`)
counts the rows.
"""

from django.db import connections, models
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce

from appointments.queue_models import QueueEntry
from hms.management.counters import counting_triggers_sql, drop_counting_triggers_sql, recount


class QueueWaitingCount(models.Model):
    """The number of waiting entries of one queue (no row: none has waited yet)."""

    queue_id = models.BigIntegerField(primary_key=True)
    n = models.IntegerField()

    class Meta:
        app_label = "appointments"
        constraints = [models.CheckConstraint(condition=Q(n__gte=0), name="queue_waiting_count_not_negative")]

    def __str__(self) -> str:
        return f"queue {self.queue_id}: {self.n} waiting"


WAITING = QueueEntry.Status.WAITING


def _names() -> dict:
    quote = connections["default"].ops.quote_name
    return {"counts": quote(QueueWaitingCount._meta.db_table), "entry": quote(QueueEntry._meta.db_table)}


def install_sql() -> str:
    """The trigger functions and triggers: a row trigger for updates (called only when an entry starts
    or stops waiting, or moves queue), statement triggers with transition tables for inserts and
    deletes (a bulk insert takes each queue's counter row once, in queue order)."""
    n = _names()

    # Additions insert the queue's row or add to it; removals subtract from the row, which exists
    # since the entries were added (an INSERT ... ON CONFLICT of a negative row would fail the
    # `n >= 0` check before it met the conflict).
    def added(source: str) -> str:
        return (
            f"INSERT INTO {n['counts']} AS c (queue_id, n) "
            f"SELECT queue_id, COUNT(*) FROM {source} WHERE status = '{WAITING}' GROUP BY queue_id "
            "ORDER BY queue_id ON CONFLICT (queue_id) DO UPDATE SET n = c.n + EXCLUDED.n"
        )

    def removed(source: str) -> str:
        return (
            f"UPDATE {n['counts']} AS c SET n = c.n - r.n FROM ("
            f"SELECT queue_id, COUNT(*) AS n FROM {source} WHERE status = '{WAITING}' GROUP BY queue_id"
            ") r WHERE c.queue_id = r.queue_id"
        )

    changed = f"""    IF OLD.status = '{WAITING}' THEN
        UPDATE {n["counts"]} SET n = n - 1 WHERE queue_id = OLD.queue_id;
    END IF;
    IF NEW.status = '{WAITING}' THEN
        INSERT INTO {n["counts"]} AS c (queue_id, n) VALUES (NEW.queue_id, 1)
            ON CONFLICT (queue_id) DO UPDATE SET n = c.n + 1;
    END IF;"""
    return counting_triggers_sql(
        n["entry"],
        "queue_waiting",
        app="appointments",
        when_changed=(
            f"(OLD.status = '{WAITING}' OR NEW.status = '{WAITING}') "
            "AND (OLD.status IS DISTINCT FROM NEW.status OR OLD.queue_id IS DISTINCT FROM NEW.queue_id)"
        ),
        bodies={"changed": changed, "inserted": f"    {added('inserted')};", "deleted": f"    {removed('deleted')};"},
    )


def uninstall_sql() -> str:
    return drop_counting_triggers_sql(_names()["entry"], "queue_waiting", app="appointments")


def rebuild(connection) -> None:
    """Recount from the entries (the entry table locked against writes meanwhile)."""
    n = _names()
    recount(
        connection,
        counted=n["entry"],
        counts=n["counts"],
        fill=f"INSERT INTO {n['counts']} (queue_id, n) SELECT queue_id, COUNT(*) FROM {n['entry']} "
        f"WHERE status = '{WAITING}' GROUP BY queue_id",
    )


def differences(connection) -> list[str]:
    """A line for each queue whose counter a recount does not give."""
    n = _names()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COALESCE(c.queue_id, r.queue_id), COALESCE(c.n, 0), COALESCE(r.n, 0) "
            f"FROM {n['counts']} c FULL JOIN ("
            f"    SELECT queue_id, COUNT(*) AS n FROM {n['entry']} WHERE status = '{WAITING}' GROUP BY queue_id"
            ") r ON r.queue_id = c.queue_id WHERE COALESCE(c.n, 0) <> COALESCE(r.n, 0) ORDER BY 1"
        )
        return [f"queue {queue}: counter {kept} != recount {live}" for queue, kept, live in cursor.fetchall()]


def waiting_expression(alias: str):
    """The `waiting` annotation of a queue queryset: its counter row on PostgreSQL, a count elsewhere."""
    if connections[alias].vendor == "postgresql":
        counted = QueueWaitingCount.objects.filter(queue_id=OuterRef("pk")).values("n")
    else:
        counted = (
            QueueEntry.objects.filter(queue=OuterRef("pk"), status=WAITING)
            .order_by()
            .values("queue")
            .annotate(count=Count("pk"))
            .values("count")
        )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))
