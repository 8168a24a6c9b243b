"""Reads of OPD queues: the counters each queue shows, and the public queue board (no patient names)."""

from zoneinfo import ZoneInfo

from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from appointments.queue_models import OpdQueue, QueueEntry
from hospitals.models import Hospital


def with_counters(queues):
    """Each queue with `now_serving` (the token of the latest called entry still being served: called
    or in consultation; None when nobody is) and `waiting` (its waiting entries): one query for all."""
    serving = (
        QueueEntry.objects.filter(queue=OuterRef("pk"), status__in=QueueEntry.SERVING)
        .order_by("-called_at", "-id")
        .values("token")[:1]
    )
    waiting = (
        QueueEntry.objects.filter(queue=OuterRef("pk"), status=QueueEntry.Status.WAITING)
        .order_by()
        .values("queue")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return queues.annotate(
        now_serving=Subquery(serving, output_field=IntegerField()),
        waiting=Coalesce(Subquery(waiting, output_field=IntegerField()), Value(0)),
    )


def local_today(zone_name: str):
    return timezone.now().astimezone(ZoneInfo(zone_name)).date()


def queue_board(hospital_id: int, *, zone_name: str | None = None) -> dict:
    """`{hospital_id, date, queues: [{doctor_id, doctor, room, now_serving, waiting}]}` for the hospital's
    today (its local date): token numbers and counts only, never a patient's name."""
    if zone_name is None:
        zone_name = Hospital.objects.filter(pk=hospital_id).values_list("timezone", flat=True).first() or "UTC"
    today = local_today(zone_name)
    queues = with_counters(
        OpdQueue.objects.filter(hospital_id=hospital_id, date=today).select_related("doctor__user").order_by("id")
    )
    return {
        "hospital_id": hospital_id,
        "date": today,
        "queues": [
            {
                "doctor_id": queue.doctor_id,
                "doctor": {
                    "id": queue.doctor_id,
                    "fullname": queue.doctor.user.fullname,
                    "specialization": queue.doctor.specialization,
                    "department": queue.doctor.department,
                },
                "room": queue.room,
                "now_serving": queue.now_serving,
                "waiting": queue.waiting,
            }
            for queue in queues
        ],
    }
