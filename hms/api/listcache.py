"""List pages kept on the read cache (hms.api.readcache) until the next committed write.

For public lists that every client polls (hospitals, bookable slots): a kept page is exactly the page
computed afresh, since every committed write invalidates it. A list whose rows also change with the
passing of time says until when an entry holds (`list_cache_still_valid`).
"""

import hashlib
from urllib.parse import urlencode

from django.conf import settings

from hms.api import readcache


class CachedListMixin:
    """`list()` through the read cache when `list_cache_scope()` names who may share a page."""

    def list_cache_scope(self, request) -> str | None:
        """A name for what this caller may see (the same for callers who see the same rows); None: no cache."""
        raise NotImplementedError

    def list_cache_topics(self, request) -> list[str] | None:
        """The topics a page depends on (hms.api.readcache); None: every committed write."""
        return None

    def list_cache_still_valid(self, entry: dict) -> bool:
        return True

    def list_cache_totals(self, queryset) -> dict:
        """`{"count": ...}` plus anything `list_cache_still_valid` needs, in one query."""
        return {"count": queryset.count()}

    def list(self, request, *args, **kwargs):
        scope = self.list_cache_scope(request) if settings.READ_CACHE_SECONDS > 0 else None
        if scope is None:
            return super().list(request, *args, **kwargs)
        params = urlencode(sorted((name, value) for name, values in request.query_params.lists() for value in values))
        key = f"hms:list:{self.basename}:{scope}:{hashlib.sha256(params.encode()).hexdigest()}"
        entry = readcache.cached(
            key,
            lambda: self._list_cache_entry(request),
            seconds=settings.READ_CACHE_SECONDS,
            still_valid=self.list_cache_still_valid,
            topics=self.list_cache_topics(request),
        )
        return self.paginator.response_from_entry(entry, request)

    def _list_cache_entry(self, request) -> dict:
        queryset = self.filter_queryset(self.get_queryset())
        totals = self.list_cache_totals(queryset)
        page = self.paginator.page_entry(queryset, request, self, self.get_serializer_class(), count=totals["count"])
        return {**totals, **page}
