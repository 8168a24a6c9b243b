"""GET /hospitals/{id}/availability and the detail's `bed_summary`: the bed counts written straight into the JSON
body, computed or kept.

The answer is BedSummaryOut's shape, whose keys never change (every status, ward type and bed type,
zeros included): only its numbers do. So the body is one format string in the order DRF's JSONRenderer
writes `selectors.bed_summary`'s dict, and each (ward type, bed type, shown status) row of
`hospitals.bed_counts` adds its count to the few places it counts in, instead of building ~25 dicts
and encoding them on every read. The bytes are those JSONRenderer writes for the dict
(hospitals/tests/test_availability_body.py compares them on random data); a row holding a value
outside the choices takes the dict path, so nothing is lost for data the choices do not name.

The same bytes are what the read cache keeps (hms.api.readcache, READ_CACHE_SECONDS): the body on
either side of `as_of`, and the earliest reservation lapse it counts. A kept answer is written as
stored with the time of the read as `as_of` (the figures hold now: no write has committed since they
were read, and no reservation they count as reserved has lapsed), so with the cache on or off a
reader gets the same bytes, and a hit renders nothing.
"""

import json

from django.conf import settings
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from hms.api import readcache
from hospitals import selectors
from hospitals.bed_counts import hospital_bed_counts
from hospitals.models import BedStatus, BedType, WardType
from hospitals.topics import beds_topic, hospital_topic


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
# The body on either side of `as_of`'s value: the hospital id goes in the head, the counters in the tail.
_HEAD, _TAIL = _TEMPLATE.split("%s")
_AS_OF = b'"as_of":"'


def _timestamp(moment) -> str:
    """A datetime as DRF's JSON encoder writes it (UTC as `Z`)."""
    text = moment.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _body_parts(hospital_id: int, active_only: bool):
    """`(head, tail, next lapse)`: the body before and after `as_of`'s value, computed now (one
    statement), and the earliest `reserved_until` still ahead that it counts as reserved (None: none);
    None when the caller does not see the hospital (absent, or deactivated with `active_only`)."""
    rows = hospital_bed_counts(hospital_id, active_only=active_only, now=timezone.now())
    return _parts_of(hospital_id, rows) if rows else None


def _parts_of(hospital_id: int, rows):
    """`_body_parts` of `hospitals.bed_counts.hospital_bed_counts` rows."""
    lapses = [next_lapse for *_, next_lapse in rows if next_lapse is not None]
    next_lapse = min(lapses) if lapses else None
    counters = [0] * _SIZE
    for ward_type, bed_type, status, count, _next_lapse in rows:
        if not count:
            continue  # the hospital's row when it has no beds
        places = _TARGETS.get((ward_type, bed_type, status))
        if places is None:  # a value the choices do not name: the dict path's general shape, as DRF writes it
            summary = {**selectors.summary_from_counts(hospital_id, rows), "as_of": ""}
            head, _as_of, tail = JSONRenderer().render(summary).partition(_AS_OF)
            return head + _AS_OF, tail, next_lapse  # hospital_id (a number) precedes it: the first one is its
        for place in places:
            counters[place] += count
    return (_HEAD % hospital_id).encode(), (_TAIL % tuple(counters)).encode(), next_lapse


def _no_lapse_since(parts) -> bool:
    """Kept figures hold until the first reservation they count as reserved lapses."""
    return parts is None or parts[2] is None or parts[2] > timezone.now()


def availability_json(hospital_id: int, *, active_only: bool, cache_scope: str = "") -> bytes | None:
    """The JSON body of the hospital's availability; None when the caller does not see the hospital
    (absent, or deactivated with `active_only`).

    With `cache_scope` (a name for the caller's visibility, hms.api.scoping.visibility_scope), the body
    is kept on the shared cache until the next committed write to the hospital's beds or row
    (READ_CACHE_SECONDS), or until a reservation it counts lapses: figures exactly as fresh as the
    database's; without, or with the cache off, computed now."""
    return _kept_body("availability", hospital_id, lambda: _body_parts(hospital_id, active_only), cache_scope)


def detail_json(hospital_id: int, *, active_only: bool, fields_of, cache_scope: str = "") -> bytes | None:
    """The JSON body of the hospital's detail (HospitalDetailOut): `fields_of(hospital)`'s dict (its fields
    but `bed_summary`, in order), then `bed_summary`, the availability body; None when the caller does
    not see the hospital. One statement computes both (`with_hospital`); with `cache_scope`, the bytes
    are kept as `availability_json`'s are, under the same topics (the hospital row and its beds), and
    written with the time of the read as `as_of`."""

    def compute():
        now = timezone.now()
        hospital, rows = hospital_bed_counts(hospital_id, active_only=active_only, now=now, with_hospital=True)
        if hospital is None:
            return None
        head, tail, next_lapse = _parts_of(hospital_id, rows)
        fields = JSONRenderer().render(fields_of(hospital))
        return b"".join((fields[:-1], b',"bed_summary":', head)), tail + b"}", next_lapse

    return _kept_body("hospital-detail", hospital_id, compute, cache_scope)


def _kept_body(kind: str, hospital_id: int, compute, cache_scope: str) -> bytes | None:
    """The body `compute()`'s `(head, tail, next lapse)` makes with the time of the read as `as_of`;
    kept with `cache_scope` under the hospital's topics (its row and its beds) until a write to them or
    the next lapse."""
    parts = readcache.cached(
        f"hms:{kind}:{cache_scope}:{hospital_id}",
        compute,
        seconds=settings.READ_CACHE_SECONDS if cache_scope else 0,
        still_valid=_no_lapse_since,
        topics=[beds_topic(hospital_id), hospital_topic(hospital_id)],
    )
    if parts is None:
        return None
    head, tail, _next_lapse = parts
    return b"".join((head, _timestamp(timezone.now()).encode(), tail))


def answers_plain_json(request) -> bool:
    """Whether DRF would answer this request with JSONRenderer's compact bytes (no `indent` or other
    media type parameter asked for in Accept), which is what `availability_json` writes."""
    renderer = getattr(request, "accepted_renderer", None)
    return type(renderer) is JSONRenderer and request.accepted_media_type == JSONRenderer.media_type
