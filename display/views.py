"""The lobby display (API.md section 17): a server-rendered page for a waiting-hall screen. It reads
selectors only (layer 6): the public queue board and the bed counts, the same figures the public
`hospital.{id}.queue` and `hospital.{id}.beds` topics carry, so the page's script can follow the
stream (or poll the feed) and redraw from the events alone. No patient names, no login."""

from django.shortcuts import render
from django.views.decorators.http import require_GET

from appointments.queue_selectors import queue_board
from feed import reader
from hospitals.models import Hospital, WardType
from hospitals.selectors import bed_summary


def free_beds(summary: dict) -> list[dict]:
    """`[{ward_type, label, free, total}]` for the ward types the hospital has beds of."""
    labels = dict(WardType.choices)
    return [
        {
            "ward_type": ward_type,
            "label": labels.get(ward_type, ward_type),
            "free": counts["available"],
            "total": counts["total"],
        }
        for ward_type, counts in summary["by_ward_type"].items()
        if counts["total"]
    ]


@require_GET
def lobby(request, id: int):
    hospital = Hospital.objects.filter(pk=id, is_active=True).only("id", "name", "timezone").first()
    if hospital is None:
        return render(request, "display/not_found.html", status=404)
    board = queue_board(hospital.pk, zone_name=hospital.timezone)
    context = {
        "hospital": hospital,
        "queues": board["queues"],
        "beds": free_beds(bed_summary(hospital_id=hospital.pk)),
        "ward_labels": dict(WardType.choices),
        "position": reader.position(),
        "topics": f"hospital.{hospital.pk}.queue,hospital.{hospital.pk}.beds",
    }
    response = render(request, "display/lobby.html", context)
    response["Cache-Control"] = "no-store"
    return response
