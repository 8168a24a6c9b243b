"""Look after the free-slot counters (PostgreSQL): compare them with a recount, fold their rows, rebuild."""

from hms.management.counters import CountersCommand


class Command(CountersCommand):
    help = "Check the free-slot counters against a recount (default), fold their rows, or rebuild them."
    counters, without_postgresql = "the free-slot counters", "SQLite counts the slots"
    module = "appointments.slot_counts"
