"""Reads with rules: bed counts (one aggregate query) and what each caller may see."""

from django.db.models import Exists, Min, OuterRef, Prefetch
from django.utils import timezone

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


def hospital_with_bed_summary(*, hospital_id: int, active_only: bool):
    """`(hospital, bed_summary)` in one query (the detail): None when the caller does not see it (absent,
    or deactivated with `active_only`)."""
    hospital, rows = hospital_bed_counts(hospital_id, active_only=active_only, now=timezone.now(), with_hospital=True)
    return None if hospital is None else (hospital, summary_from_counts(hospital_id, rows))


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
