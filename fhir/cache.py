"""The searches clients poll, kept on the read cache (hms.api.readcache) until the next committed
write, as the REST API keeps its bookable-slot list: a kept Bundle is the Bundle computed afresh.

- Slot (public): callers who see the same hospitals share a Bundle. Time changes a slot's status in
  two ways only, an open slot starting (free -> busy) and a hold lapsing (busy -> free), so a kept
  Bundle holds until the first of either after it was computed.
- Appointment: a caller's own Bundle, for that caller only (nothing in it changes with time).

Every other search, and every search while READ_CACHE_SECONDS is 0, is computed each time.
"""

import hashlib

from django.conf import settings
from django.db.models import Min
from django.utils import timezone

from appointments.models import Hold, Slot
from hms.api import readcache
from hms.api.scoping import visibility_scope


def _slot_changes_at(now):
    """When time next changes a slot's status: the next open slot's start, or the next hold's lapse."""
    starts = Slot.objects.filter(status=Slot.Status.OPEN, start__gt=now).aggregate(at=Min("start"))["at"]
    lapses = Hold.objects.filter(status=Hold.Status.ACTIVE, expires_at__gt=now).aggregate(at=Min("expires_at"))["at"]
    return min((at for at in (starts, lapses) if at is not None), default=None)


def _caller(request) -> str | None:
    user = request.user
    return f"user-{user.pk}" if user and user.is_authenticated else None


# type name -> (who may share a Bundle: a cache key part, or None for no cache; whether time changes it)
KEPT = {
    "Slot": (lambda request: visibility_scope(request.user), True),
    "Appointment": (_caller, False),
}


def kept_search(rtype, request, compute, *, strict: bool, base: str) -> dict:
    """`compute()` (the search's Bundle), or the Bundle kept for the same caller scope and query."""
    policy = KEPT.get(rtype.name)
    scope = policy[0](request) if policy and settings.READ_CACHE_SECONDS > 0 else None
    if scope is None:
        return compute()
    timed = policy[1]
    query = f"{base}?{request.META.get('QUERY_STRING', '')}|strict={strict}"
    key = f"hms:fhir:{rtype.name}:{scope}:{hashlib.sha256(query.encode()).hexdigest()}"

    def entry() -> dict:
        # Taken before the search runs: a change that falls while it runs ends the entry.
        until = _slot_changes_at(timezone.now()) if timed else None
        return {"bundle": compute(), "until": until}

    def still_valid(kept: dict) -> bool:
        return kept["until"] is None or kept["until"] > timezone.now()

    return readcache.cached(key, entry, seconds=settings.READ_CACHE_SECONDS, still_valid=still_valid)["bundle"]
