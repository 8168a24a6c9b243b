"""The OPD's scheduled jobs (API.md section 16), imported (so registered) by AppointmentsConfig.ready().

Each is idempotent and safe in two workers at once: it goes through the same services (and so the
same row locks, transition rules, events and audit entries) as the API, one transaction per item, so a
worker killed mid-batch leaves every item either done or untouched, and the next run does the rest.
"""

from datetime import timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from appointments import services, slot_counts
from appointments.models import MAX_GENERATE_DAYS, Appointment, OpdSchedule
from appointments.services.seats import holds_expire_lapsed
from hms import jobs
from hms.api.exceptions import Conflict


@jobs.job(
    "appointments.no_show",
    every_seconds=300,
    description="Booked appointments NO_SHOW_GRACE_MINUTES past their end become no-shows.",
)
def mark_no_shows() -> dict:
    """Booked appointments whose slot ended more than NO_SHOW_GRACE_MINUTES ago become no-shows,
    exactly as a doctor's `POST .../no_show` would make them (with no actor)."""
    cutoff = timezone.now() - timedelta(minutes=settings.NO_SHOW_GRACE_MINUTES)
    due = (
        Appointment.objects.filter(status=Appointment.Status.BOOKED, slot__end__lte=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    marked = skipped = 0
    for pk in list(due):
        try:
            # The service re-reads the row under its lock: one checked in (or marked by another
            # worker) since the query above is refused by the transition table and skipped.
            services.appointment_transition(by=None, appointment=Appointment(pk=pk), status=Appointment.Status.NO_SHOW)
        except Conflict:
            skipped += 1
        else:
            marked += 1
    return {"marked": marked, "skipped": skipped}


@jobs.job(
    "appointments.rolling_slots",
    every_seconds=3600,
    description="Slots of active OPD schedules kept generated OPD_ROLLING_DAYS ahead.",
)
def generate_rolling_slots(days: int | None = None) -> dict:
    """Slots of every active OPD schedule from today (each hospital's local date) for `days` days
    (OPD_ROLLING_DAYS); existing slots are skipped, so running it again creates nothing."""
    days = min(max(days or settings.OPD_ROLLING_DAYS, 1), MAX_GENERATE_DAYS)
    schedules = OpdSchedule.objects.filter(is_active=True, hospital__is_active=True).select_related("hospital")
    created = skipped = count = 0
    for schedule in schedules.order_by("id").iterator():
        today = timezone.now().astimezone(ZoneInfo(schedule.hospital.timezone)).date()
        try:
            result = services.slots_generate(
                by=None, schedule=schedule, from_date=today, to_date=today + timedelta(days=days - 1)
            )
        except Conflict:  # deactivated since the query above
            continue
        created, skipped, count = created + result["created"], skipped + result["skipped"], count + 1
    return {"schedules": count, "created": created, "skipped": skipped}


@jobs.job(
    "appointments.expire_holds",
    every_seconds=60,
    description="Lapsed slot holds marked expired and their seats given back.",
)
def expire_holds() -> dict:
    """Mark lapsed holds expired and give their seats back (reads already ignore them; this tidies)."""
    return holds_expire_lapsed()


@jobs.job(
    "appointments.fold_slot_counts",
    every_seconds=300,
    description="The free-slot counters' rows summed into one per key, past days dropped (PostgreSQL).",
)
def fold_slot_counts() -> dict:
    """Keep the bookable-slot counts' reads to a bounded number of rows (appointments/slot_counts.py)."""
    return slot_counts.fold_now()
