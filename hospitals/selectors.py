"""Reads with rules: bed counts (one aggregate query) and what each caller may see."""

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Prefetch
from django.utils import timezone

from hms.api import readcache
from hospitals.models import Admission, Bed, BedStatus, WardType
from hospitals.topics import beds_topic, hospital_topic

_STATUSES = tuple(BedStatus.values)
_WARD_TYPES = tuple(WardType.values)


def _visible_bed_counts(hospital_id: int, hospitals) -> list | None:
    rows = list(
        hospitals()
        .filter(pk=hospital_id)
        .values_list("beds__ward__ward_type", "beds__status")
        .annotate(count=Count("beds__id"))
        .order_by()
    )
    return rows or None


def bed_summary(*, hospital_id: int, hospitals=None, cache_scope: str = "") -> dict | None:
    """`{hospital_id, as_of, total, by_status, by_ward_type}` from the current bed rows, in one query.

    Every status and every ward type is present (zero when there is none), so clients see one shape.
    With `hospitals` (a function giving the caller's visible hospitals, called only when the counts
    are not on the cache), the same query also checks that the hospital is among them (a LEFT
    JOIN from the hospital to its beds): None when it is not. With `cache_scope`
    (a name for that visibility), the counts are kept on the shared cache until the next committed
    write (READ_CACHE_SECONDS, hms.api.readcache): figures exactly as fresh as the database's.
    """
    if hospitals is None:
        rows = (
            Bed.objects.filter(hospital_id=hospital_id)
            .values_list("ward__ward_type", "status")
            .annotate(count=Count("id"))
            .order_by()
        )
    else:
        rows = readcache.cached(
            f"hms:bed-counts:{cache_scope}:{hospital_id}",
            lambda: _visible_bed_counts(hospital_id, hospitals),
            seconds=settings.READ_CACHE_SECONDS if cache_scope else 0,
            topics=[beds_topic(hospital_id), hospital_topic(hospital_id)],
        )
        if rows is None:
            return None
    by_status = dict.fromkeys(_STATUSES, 0)
    by_ward_type = {ward_type: {"total": 0, **by_status} for ward_type in _WARD_TYPES}
    total = 0
    for ward_type, status, count in rows:
        if not count:
            continue  # the hospital's row when it has no beds
        total += count
        by_status[status] = by_status.get(status, 0) + count
        counts = by_ward_type.setdefault(ward_type, {"total": 0, **dict.fromkeys(_STATUSES, 0)})
        counts["total"] += count
        counts[status] = counts.get(status, 0) + count
    return {
        "hospital_id": hospital_id,
        "as_of": timezone.now(),
        "total": total,
        "by_status": by_status,
        "by_ward_type": by_ward_type,
    }


def with_available_beds(queryset, *, ward_type: str | None):
    """Hospitals holding at least one available bed (of that ward type, when given)."""
    beds = Bed.objects.filter(hospital_id=OuterRef("pk"), status=BedStatus.AVAILABLE)
    if ward_type:
        beds = beds.filter(ward__ward_type=ward_type)
    return queryset.filter(Exists(beds))


def beds_with_current_admission(queryset):
    """Beds with their ward and active admission loaded: no query per row."""
    return queryset.select_related("ward").prefetch_related(
        Prefetch(
            "admissions",
            queryset=Admission.objects.filter(discharged_at__isnull=True),
            to_attr="active_admissions",
        )
    )
