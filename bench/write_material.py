"""The write mixes' material (issue 18), made inside Django by bench/prepare.py, which sets Django up
before importing this module.

For the hold-then-book mix, bookable slots of the benchmark hospitals (none of the booking mix's) with
at least --hold-seats free seats between them; for call-next, the queues of --call-queues doctors of
the benchmark hospitals on the hospital-local date (opened if missing), each topped up with waiting
walk-ins (bulk insert, tokens from the queue's own walk-in counter, so unique per queue as the model
requires) until they hold --call-entries between them, and the hospital admins' tokens to call them
with. `access()` issues a user's token without a login (no bcrypt), for prepare.py and mixed.py too.
"""

import random
from datetime import timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Count, F
from django.utils import timezone

from accounts.models import User
from accounts.tokens import tokens_issue
from appointments.models import Doctor, Slot
from appointments.queue_models import OpdQueue, QueueEntry


def access(user: User) -> str:
    return tokens_issue(user=user)["access"]


def hold_material(args, rng: random.Random, now, exclude: set[int]) -> tuple[list[int], int]:
    """Bookable slots of the benchmark hospitals from tomorrow on (none of the booking mix's), picked at
    random until their free seats add up to --hold-seats: (slot ids, free seats)."""
    rows = list(
        Slot.objects.bookable()
        .filter(hospital__registration_number__startswith="BENCH-", start__gte=now + timedelta(days=1))
        .annotate(free=F("capacity") - F("booked") - F("hold_count"))
        .values_list("pk", "free")[:200_000]
    )
    rng.shuffle(rows)
    picked, seats = [], 0
    for pk, free in rows:
        if seats >= args.hold_seats:
            break
        if pk not in exclude and free > 0:
            picked.append(pk)
            seats += free
    return picked, seats


def queue_material(args, rng: random.Random) -> dict:
    """The queues call-next spreads over: one per doctor (--call-queues doctors of the benchmark
    hospitals) on the hospital-local date, or the next date when the day ends within 30 minutes (a run
    never crosses it: a past day's queue refuses calls). Each is topped up to its share of
    --call-entries waiting walk-ins (priorities mixed: mostly normal), with tokens drawn from the queue's
    walk-in counter as the service does; a hospital admin of each hospital calls its queues."""
    doctors = list(
        Doctor.objects.filter(hospital__registration_number__startswith="BENCH-", hospital__is_active=True)
        .order_by("pk")
        .values_list("pk", "hospital_id", "hospital__timezone")[: args.call_queues]
    )
    if not doctors:
        return {"queues": [], "staff_tokens": [], "waiting": 0, "added": 0}
    later = timezone.now() + timedelta(minutes=30)
    dates = {pk: later.astimezone(ZoneInfo(zone)).date() for pk, _hospital, zone in doctors}
    share = -(-args.call_entries // len(doctors))
    added = 0
    with transaction.atomic():
        existing = {
            (queue.doctor_id, queue.date): queue
            for queue in OpdQueue.objects.filter(doctor_id__in=list(dates), date__in=set(dates.values()))
        }
        missing = [
            OpdQueue(doctor_id=pk, hospital_id=hospital, date=dates[pk])
            for pk, hospital, _zone in doctors
            if (pk, dates[pk]) not in existing
        ]
        OpdQueue.objects.bulk_create(missing)
        queues = list(
            OpdQueue.objects.select_for_update()
            .filter(doctor_id__in=list(dates), date__in=set(dates.values()))
            .order_by("pk")
        )
        queues = [queue for queue in queues if queue.date == dates[queue.doctor_id]]
        waiting = dict(
            QueueEntry.objects.filter(queue__in=queues, status=QueueEntry.Status.WAITING)
            .values("queue")
            .annotate(n=Count("pk"))
            .values_list("queue", "n")
        )
        entries = []
        for queue in queues:
            for _ in range(share - waiting.get(queue.pk, 0)):
                queue.last_walk_in_token += 1
                priority = rng.choices(["normal", "senior", "urgent"], weights=[85, 10, 5])[0]
                entries.append(
                    QueueEntry(queue=queue, token=queue.last_walk_in_token, name="Bench walk-in", priority=priority)
                )
        QueueEntry.objects.bulk_create(entries, batch_size=5000)
        OpdQueue.objects.bulk_update(queues, ["last_walk_in_token"], batch_size=1000)
        added = len(entries)
    hospitals = sorted({queue.hospital_id for queue in queues})
    admins = {}
    for user in User.objects.filter(role=User.Role.HOSPITAL_ADMIN, is_active=True, hospital_id__in=hospitals).order_by(
        "pk"
    ):
        admins.setdefault(user.hospital_id, user)
    queues = [queue for queue in queues if queue.hospital_id in admins]
    staff = sorted(admins)
    return {
        "queues": [[queue.pk, staff.index(queue.hospital_id)] for queue in queues],
        "staff_tokens": [access(admins[hospital]) for hospital in staff],
        "date": str(min(queue.date for queue in queues)) if queues else None,
        "added": added,
    }
