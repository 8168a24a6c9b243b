"""Look after the waiting-entry counters of the OPD queues (PostgreSQL): compare them with a recount, rebuild."""

from hms.management.counters import CountersCommand


class Command(CountersCommand):
    help = "Check the queues' waiting-entry counters against a recount (default), or rebuild them."
    counters, without_postgresql = "the queues' waiting-entry counters", "SQLite counts the entries"
    module = "appointments.queue_counts"
