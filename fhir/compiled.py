"""Compiled rows moved to hms/api/compiled.py (plumbing: the REST API's scoped lookups use them too);
re-exported here for the FHIR modules that import them from this package."""

from hms.api.compiled import CompiledRows, cursor_for

__all__ = ["CompiledRows", "cursor_for"]
