"""Reads with rules: bed counts (one aggregate query) and what each caller may see."""

from django.db import connections
from django.db.models import Exists, Min, OuterRef, Prefetch, Q
from django.utils import timezone

from hms.api.compiled import CompiledRows
from hospitals import geo
from hospitals.bed_counts import hospital_bed_counts
from hospitals.models import Admission, Bed, BedStatus, BedType, WardType, free_beds

_STATUSES = tuple(BedStatus.values)
_WARD_TYPES = tuple(WardType.values)
_BED_TYPES = tuple(BedType.values)
# by_bed_type's counters: `free` is the shown status `available`; cleaning beds count in `total` only.
BED_TYPE_COUNTS = {"free": BedStatus.AVAILABLE, **{s: s for s in ("occupied", "reserved", "maintenance")}}


def bed_summary(*, hospital_id: int, active_only: bool | None = None) -> dict | None:
    """`{hospital_id, as_of, total, by_status, by_ward_type, by_bed_type}` from the current bed rows,
    in one query. A reservation whose `until` has passed counts as available.

    Every status, ward type and bed type is present (zero when there is none), so clients see one shape.
    With `active_only` (True: the caller sees active hospitals only, False: every hospital), None when
    the caller may not see the hospital (absent, or deactivated with `active_only`). The availability
    route writes this dict's JSON bytes directly, and keeps them on the read cache
    (hospitals.availability).
    """
    rows = hospital_bed_counts(hospital_id, active_only=bool(active_only), now=timezone.now())
    if active_only is not None and not rows:
        return None
    return summary_from_counts(hospital_id, rows)


def summary_from_counts(hospital_id: int, rows) -> dict:
    """BedSummaryOut's dict from `hospitals.bed_counts.hospital_bed_counts` rows (as of now)."""
    by_status = dict.fromkeys(_STATUSES, 0)
    by_ward_type = {ward_type: {"total": 0, **by_status} for ward_type in _WARD_TYPES}
    by_bed_type = {bed_type: {"total": 0, **dict.fromkeys(BED_TYPE_COUNTS, 0)} for bed_type in _BED_TYPES}
    total = 0
    for ward_type, bed_type, status, count, _next_lapse in rows:
        if not count:
            continue  # the hospital's row when it has no beds
        total += count
        by_status[status] = by_status.get(status, 0) + count
        counts = by_ward_type.setdefault(ward_type, {"total": 0, **dict.fromkeys(_STATUSES, 0)})
        counts["total"] += count
        counts[status] = counts.get(status, 0) + count
        counts = by_bed_type.setdefault(bed_type, {"total": 0, **dict.fromkeys(BED_TYPE_COUNTS, 0)})
        counts["total"] += count
        for counter, counted_status in BED_TYPE_COUNTS.items():
            if status == counted_status:
                counts[counter] += count
    return {
        "hospital_id": hospital_id,
        "as_of": timezone.now(),
        "total": total,
        "by_status": by_status,
        "by_ward_type": by_ward_type,
        "by_bed_type": by_bed_type,
    }


def with_available_beds(queryset, *, ward_type: str | None = None, bed_type: str | None = None):
    """Hospitals holding at least one available bed (a lapsed reservation counts), of that ward type
    and/or bed type when given."""
    beds = Bed.objects.filter(free_beds(timezone.now()), hospital_id=OuterRef("pk"))
    if ward_type:
        beds = beds.filter(ward__ward_type=ward_type)
    if bed_type:
        beds = beds.filter(bed_type=bed_type)
    return queryset.filter(Exists(beds))


def next_reservation_lapse():
    """The earliest `reserved_until` still ahead, of any bed (None: none): until then, which hospitals
    have a free bed changes only by writes."""
    return Bed.objects.filter(reserved_until__gt=timezone.now()).aggregate(at=Min("reserved_until"))["at"]


def beds_with_current_admission(queryset):
    """Beds with their ward and active admission loaded: no query per row."""
    return queryset.select_related("ward").prefetch_related(
        Prefetch(
            "admissions",
            queryset=Admission.objects.filter(discharged_at__isnull=True),
            to_attr="active_admissions",
        )
    )


class _AnyColumn:
    """Stands in for a compiler where only an expression's own parameters are wanted."""

    def compile(self, node):
        return "column", []


def _near_values(lat: float, lng: float, radius_km: float, connection) -> tuple[tuple, list]:
    """The shape of `geo.nearest`'s bounding box (its lookups and connectors, no values), and every value
    a `geo.nearest` query takes as a parameter: the box's bounds, the distance expression's own
    parameters, the radius."""
    values = []

    def shape(node):
        if isinstance(node, Q):
            return (node.connector, node.negated, tuple(shape(child) for child in node.children))
        name, value = node
        values.append(value)
        return name

    box = shape(geo.bounding_box(lat, lng, radius_km))
    _sql, distance = geo.distance_km_expression(lat, lng).as_sql(_AnyColumn(), connection)
    return box, [*values, *distance, radius_km]


class KeptNearRows:
    """The rows of a `geo.nearest` search compiled once per shape (the caller's scope, the database, the
    shape of the bounding box) and run again with the parameters of a later point and radius.

    Which parameter is which value is learnt from a compilation whose values are all different, and
    kept only when compiling the same shape for a second point gives the same SQL with exactly the
    parameters the learnt places predict; otherwise every search is compiled afresh (correct, only
    slower). At most `limit` shapes per process (then all are forgotten at once)."""

    def __init__(self, limit: int = 256):
        self.limit = limit
        self.kept: dict = {}

    def rows(self, key, build, lat: float, lng: float, radius_km: float, *, alias: str) -> CompiledRows:
        """`build(lat, lng, radius_km)` (a `.values()` queryset of `geo.nearest`) as compiled rows."""
        connection = connections[alias]
        box, values = _near_values(lat, lng, radius_km, connection)
        kept = self.kept.get((key, alias, box))
        if kept is not None:
            rows, places = kept
            return rows.bound(tuple(values[place] for place in places))
        rows = CompiledRows(build(lat, lng, radius_km))
        places = self._learn(rows, values, key, alias, box, build, lat, lng, radius_km, connection)
        if places is not None:
            if len(self.kept) >= self.limit:
                self.kept.clear()
            self.kept[(key, alias, box)] = (rows, places)
        return rows

    @staticmethod
    def _learn(rows, values, key, alias, box, build, lat, lng, radius_km, connection) -> tuple | None:
        if (
            rows.sql is None
            or len(set(values)) != len(values)
            or any(type(param) is not float for param in rows.params)
        ):
            return None
        index = {value: place for place, value in enumerate(values)}
        if any(param not in index for param in rows.params):
            return None
        places = tuple(index[param] for param in rows.params)
        # A second point of the same shape must compile to the same SQL, its parameters where predicted.
        other = (lat + 0.25 if lat < 0 else lat - 0.25, lng + 0.5 if lng < 0 else lng - 0.5, radius_km * 0.75)
        other_box, other_values = _near_values(*other, connection)
        if other_box != box:
            return None
        other_rows = CompiledRows(build(*other))
        if other_rows.sql != rows.sql or tuple(other_rows.params) != tuple(other_values[place] for place in places):
            return None
        return places
