"""What every served FHIR type is made of: the request's context, the HMS tables ("parts") behind a
type, its search parameters, and the filters several types share.

Visibility is the REST API's own: every part's rows come from the REST viewset's scoping declarations
(`ScopedQuerysetMixin.scope_queryset` run with the REST viewset's `owner_lookups`, `hospital_lookups`,
`user_lookups`, `public_read` and `active_lookups`), so a row the REST API hides is absent here too.
"""

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

from django.utils import timezone

from hms.api.permissions import role_of
from hms.api.roles import Role
from hms.api.scoping import ScopedQuerysetMixin
from hospitals.models import Hospital

from ..compiled import cursor_for
from ..params import date_condition, integer_ids, prefixed_ids, reference_ids


@functools.cache
def _zones_sql() -> str:
    """The time zones in use, as SQL compiled once (it takes no parameter)."""
    queryset = Hospital.objects.order_by().values_list("timezone", flat=True).distinct()
    sql, params = queryset.query.get_compiler(using=queryset.db).as_sql()
    assert not params
    return sql


def scoped(viewset_class, request, queryset):
    """`queryset` narrowed exactly as the REST viewset narrows its own for this caller."""
    view = viewset_class(request=request, format_kwarg=None, kwargs={})
    return ScopedQuerysetMixin.scope_queryset(view, queryset)


@dataclass
class Context:
    """What one request's renderers and filters share: the caller, the time, the time zones in use."""

    request: object
    now: object = field(default_factory=timezone.now)
    _zones: list | None = None

    @property
    def zones(self) -> list[str]:
        """The hospitals' time zones (one query per request), for dates given without an offset."""
        if self._zones is None:
            from django.conf import settings

            with cursor_for(Hospital.objects.db) as cursor:
                cursor.execute(_zones_sql())
                found = sorted({zone for (zone,) in cursor.fetchall()})
            self._zones = found or [settings.TIME_ZONE]
        return self._zones

    @property
    def zones_read(self) -> bool:
        return self._zones is not None

    def sees_contact(self, user_id: int) -> bool:
        """A patient's e-mail: the patient itself and admins only."""
        return role_of(self.request.user) == Role.ADMIN or self.request.user.pk == user_id


Filter = Callable  # (queryset, values: list[str], ctx: Context) -> queryset


@dataclass
class Part:
    """One HMS table behind a FHIR type. `prefix`: the id's table name (`hospital` in `hospital-5`),
    None when the type's ids are the table's ids."""

    prefix: str | None
    queryset: Callable  # (ctx) -> the scoped queryset, with what `render` reads selected
    render: Callable  # (row, ctx) -> dict
    updated_field: str
    zone_field: str | None = "hospital__timezone"
    filters: dict[str, Filter] = field(default_factory=dict)
    # Audit of clinical reads (API.md section 9): the activity log's object type and the patient's field.
    audit_type: str | None = None
    audit_patient: str = "patient_id"  # a lookup from the row to the patient's id
    # What only the rows shown need (annotations the count must not compute).
    page: Callable = lambda queryset, ctx: queryset  # noqa: E731
    # The columns `render` reads, when it renders a dict of them (`.values(*columns)`: no model
    # instances, the search's page and count one compiled query); None: `render` takes model rows.
    columns: tuple[str, ...] | None = None
    # The further columns an `_include` reads of the rows ("Appointment:patient" -> the patient's).
    include_columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Rows scoped by a `public_read` REST viewset: they depend on the caller only through whether it
    # sees deactivated hospitals (`visibility_scope`), so callers share a kept search (fhir/shapes.py).
    public: bool = False

    def rows(self, queryset, ctx, includes=()):
        """The page's queryset: what `render` (and the `includes` named) take, in the search's order."""
        queryset = self.page(queryset, ctx)
        if not self.columns:
            return queryset
        columns = dict.fromkeys(self.columns)
        for include in includes:
            columns.update(dict.fromkeys(self.include_columns.get(include, ())))
        return queryset.values(*columns)

    def pk_of(self, row) -> int:
        return row["id"] if self.columns else row.pk

    def patient_of(self, row) -> int | None:
        if self.columns:
            return row[self.audit_patient]
        for name in self.audit_patient.split("__"):
            row = getattr(row, name, None)
        return row

    def resource_id(self, pk) -> str:
        return f"{self.prefix}-{pk}" if self.prefix else str(pk)

    def pk_from(self, resource_id: str) -> int | None:
        ids = prefixed_ids([resource_id], self.prefix) if self.prefix else integer_ids([resource_id])
        return ids[0] if ids else None


@dataclass
class SearchParam:
    name: str
    type: str  # the FHIR search parameter type, for the CapabilityStatement
    documentation: str


@dataclass
class ResourceType:
    name: str
    parts: list[Part]
    params: list[SearchParam] = field(default_factory=list)
    includes: dict[str, Callable] = field(default_factory=dict)  # "Slot:schedule" -> (rows, ctx) -> resources
    clinical: bool = False  # a patient's record: sign-in required (401 otherwise), as in the REST API
    create: bool = False
    profile_note: str = ""

    def part_for(self, resource_id: str) -> tuple[Part, int] | None:
        for part in self.parts:
            pk = part.pk_from(resource_id)
            if pk is not None:
                return part, pk
        return None


def _references(queryset, values, resource_type, lookup, prefix=None, parameter=""):
    ids = reference_ids(parameter, values, resource_type)
    numbers = prefixed_ids(ids, prefix) if prefix else integer_ids(ids)
    return queryset.filter(**{f"{lookup}__in": numbers})


def reference_filter(resource_type: str, lookup: str, prefix: str | None = None, parameter: str = ""):
    def apply(queryset, values, ctx):
        for value in values:  # occurrences are ANDed, comma-separated values ORed
            queryset = _references(queryset, [value], resource_type, lookup, prefix, parameter)
        return queryset

    return apply


def date_filter(parameter: str, date_field: str):
    def apply(queryset, values, ctx):
        return queryset.filter(date_condition(parameter, values, date_field, "hospital__timezone", ctx.zones))

    return apply
