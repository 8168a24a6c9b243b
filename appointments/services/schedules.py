from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import PermissionDenied

from accounts.activity import Action, audited_create, audited_update, record
from accounts.models import User
from appointments.models import OpdSchedule, Slot
from appointments.permissions import manages_doctor
from appointments.services.leave import leave_spans, lock_doctor, on_leave
from appointments.topics import slots_changed
from hms.api.exceptions import Conflict


@transaction.atomic
def opd_schedule_create(*, by: User, data: dict) -> OpdSchedule:
    doctor = data["doctor"]
    if not manages_doctor(by, doctor):
        raise PermissionDenied("Only an administrator, the hospital's admin or the doctor itself sets OPD hours.")
    data = {**data, "hospital": doctor.hospital}
    if not data.get("department"):
        data["department"] = doctor.department
    return audited_create(OpdSchedule, by=by, data=data, object_type="opd_schedule")


@transaction.atomic
def opd_schedule_update(*, by: User, schedule: OpdSchedule, data: dict) -> OpdSchedule:
    """OPD hours as validated (admin, the hospital's admin or the doctor itself: the view's permission),
    recorded. Slots already generated stay as they are."""
    return audited_update(schedule, by=by, data=data, object_type="opd_schedule")


def local_slot_starts(
    *, day: date, start_time: time, end_time: time, minutes: int, zone: ZoneInfo
) -> Iterator[datetime]:
    """Wall-clock starts on `day` in `zone` whose slot ends by `end_time`; times that do not exist
    (inside a spring-forward gap) are left out."""
    step = timedelta(minutes=minutes)
    wall = datetime.combine(day, start_time)
    last_end = datetime.combine(day, end_time)
    while wall + step <= last_end:
        aware = wall.replace(tzinfo=zone)
        if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall:
            yield aware
        wall += step


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


@transaction.atomic
def slots_generate(*, by: User | None, schedule: OpdSchedule, from_date: date, to_date: date) -> dict:
    """Create the schedule's slots for the dates given; existing and past ones are skipped.

    The schedule row lock serialises two generations of one schedule (so the counts are exact); the
    unique (doctor, start) constraint is the backstop against a doctor's other schedules.
    """
    schedule = OpdSchedule.objects.select_for_update(of=("self",)).select_related("hospital").get(pk=schedule.pk)
    if not schedule.is_active:
        raise Conflict("This OPD schedule is inactive; activate it before generating slots.", code="schedule_inactive")
    zone = ZoneInfo(schedule.hospital.timezone)
    now = timezone.now()
    first = max(from_date, schedule.valid_from)
    last = min(to_date, schedule.valid_until) if schedule.valid_until else to_date
    minutes = schedule.slot_minutes
    weekdays = set(schedule.weekdays)

    # The doctor's row: a leave being recorded meanwhile (services/leave.py locks it first) either
    # commits before we read the leaves, or waits for these slots and closes them.
    lock_doctor(schedule.doctor_id)
    spans = leave_spans(
        schedule.doctor_id,
        datetime.combine(first, time.min, tzinfo=zone) - timedelta(days=1),
        datetime.combine(last, time.max, tzinfo=zone) + timedelta(days=1),
    )
    past, on_leave_count, candidates = 0, 0, {}
    for day in _days(first, last):
        if day.weekday() not in weekdays:
            continue
        for local_start in local_slot_starts(
            day=day, start_time=schedule.start_time, end_time=schedule.end_time, minutes=minutes, zone=zone
        ):
            start = local_start.astimezone(UTC)
            if start <= now:
                past += 1
            elif spans and on_leave(spans, start, start + timedelta(minutes=minutes)):
                on_leave_count += 1  # generation skips the doctor's leave
            else:
                candidates[start] = day

    new_starts = set()
    if candidates:
        window = (min(candidates), max(candidates))
        taken = set(
            Slot.objects.filter(doctor_id=schedule.doctor_id, start__range=window).values_list("start", flat=True)
        )
        new_starts = set(candidates) - taken
        Slot.objects.bulk_create(
            [
                Slot(
                    hospital_id=schedule.hospital_id,
                    doctor_id=schedule.doctor_id,
                    opd_schedule=schedule,
                    start=start,
                    end=start + timedelta(minutes=minutes),
                    local_date=candidates[start],
                    capacity=schedule.capacity_per_slot,
                )
                for start in sorted(new_starts)
            ],
            batch_size=1000,
            ignore_conflicts=True,
        )
        if new_starts:
            mine = Slot.objects.filter(opd_schedule=schedule, start__range=window, start__in=new_starts)
            new_slots = list(mine)
            new_starts = {slot.start for slot in new_slots}
            slots_changed(new_slots)
    created = len(new_starts)
    result = {"created": created, "skipped": past + on_leave_count + len(candidates) - created}
    if by is None and not created:
        # The hourly rolling job (appointments.jobs) changed nothing: no audit entry for it.
        return result
    record(
        action=Action.ACTION,
        actor=by,
        object_type="opd_schedule",
        object_id=schedule.pk,
        detail={"action": "generate_slots", "from_date": str(from_date), "to_date": str(to_date), **result},
    )
    return result
