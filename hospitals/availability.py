"""GET /hospitals/{id}/availability computed on every read: the bed counts written straight into the body.

The answer is BedSummaryOut's shape, whose keys never change (every status, ward type and bed type,
zeros included): only its numbers do. So the body is one format string in the order DRF's JSONRenderer
writes `selectors.bed_summary`'s dict, and each (ward type, bed type, shown status) row of
`hospitals.bed_counts` adds its count to the few places it counts in, instead of building ~25 dicts
and encoding them on every read. The bytes are those JSONRenderer writes for the dict
(hospitals/tests/test_availability_body.py compares them on random data); a row holding a value
outside the choices takes the dict path, so nothing is lost for data the choices do not name.
"""

import json

from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from hospitals import selectors
from hospitals.bed_counts import hospital_bed_counts
from hospitals.models import BedStatus, BedType, WardType


def _key(name: str) -> str:
    return json.dumps(name, ensure_ascii=False).replace("%", "%%")


def _object(members) -> str:
    return "{" + ",".join(f"{_key(name)}:{value}" for name, value in members) + "}"


def _layout() -> tuple[str, dict[tuple[str, str, str], tuple[int, ...]], int]:
    """The body's format string (hospital id, `as_of`, then the counters in order), where each row's
    count goes (indexes into the counters), and how many counters there are."""
    statuses, counted = tuple(BedStatus.values), selectors.BED_TYPE_COUNTS
    position = iter(range(10**6))
    total = next(position)
    by_status = {status: next(position) for status in statuses}
    by_ward_type = {ward: {name: next(position) for name in ("total", *statuses)} for ward in WardType.values}
    by_bed_type = {kind: {name: next(position) for name in ("total", *counted)} for kind in BedType.values}
    size = next(position)

    def counters(names) -> str:
        return _object((name, "%d") for name in names)

    template = _object(
        [
            ("hospital_id", "%d"),
            ("as_of", '"%s"'),
            ("total", "%d"),
            ("by_status", counters(by_status)),
            ("by_ward_type", _object((ward, counters(names)) for ward, names in by_ward_type.items())),
            ("by_bed_type", _object((kind, counters(names)) for kind, names in by_bed_type.items())),
        ]
    )
    targets = {}
    for ward, ward_counters in by_ward_type.items():
        for kind, kind_counters in by_bed_type.items():
            for status in statuses:
                places = [total, by_status[status], ward_counters["total"], ward_counters[status]]
                places.append(kind_counters["total"])
                places.extend(kind_counters[name] for name, shown in counted.items() if shown == status)
                targets[ward, kind, status] = tuple(places)
    return template, targets, size


_TEMPLATE, _TARGETS, _SIZE = _layout()


def _timestamp(moment) -> str:
    """A datetime as DRF's JSON encoder writes it (UTC as `Z`)."""
    text = moment.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def availability_json(hospital_id: int, *, active_only: bool) -> bytes | None:
    """The JSON body of the hospital's availability, computed now (one statement); None when the caller
    does not see the hospital (absent, or deactivated with `active_only`)."""
    rows = hospital_bed_counts(hospital_id, active_only=active_only, now=timezone.now())
    if not rows:
        return None
    counters = [0] * _SIZE
    for ward_type, bed_type, status, count, _next_lapse in rows:
        if not count:
            continue  # the hospital's row when it has no beds
        places = _TARGETS.get((ward_type, bed_type, status))
        if places is None:  # a value the choices do not name: the dict path's general shape, as DRF writes it
            return JSONRenderer().render(selectors._summary(hospital_id, rows))
        for place in places:
            counters[place] += count
    as_of = _timestamp(timezone.now())
    return (_TEMPLATE % (hospital_id, as_of, *counters)).encode()


def answers_plain_json(request) -> bool:
    """Whether DRF would answer this request with JSONRenderer's compact bytes (no `indent` or other
    media type parameter asked for in Accept), which is what `availability_json` writes."""
    renderer = getattr(request, "accepted_renderer", None)
    return type(renderer) is JSONRenderer and request.accepted_media_type == JSONRenderer.media_type
