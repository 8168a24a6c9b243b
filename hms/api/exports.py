"""CSV exports of list endpoints: `?format=csv` (or `Accept: text/csv`) streams the filtered list.

A viewset adopts `ExportMixin` (through accounts.activity.ExportMixin, which records the export) and
names the list; its columns are the list serializer's fields, read with `values_list()` rather than a
serializer per row, each value passed through the serializer field's own `to_representation`, so a
cell holds what the JSON list shows (a nested object's fields become `object.field` columns, a nested
list one JSON cell). Fields the serializer computes (`SerializerMethodField`) are declared in
`export_columns`. Rows stream from a server-side cursor in chunks: memory stays flat whatever the size.

Rules, in one place:
- every row the JSON list would show, in its order (same scoping, filters and ordering; no paging);
- a time window (`from`/`to` on the lists that have them) is at most 31 days, both ends or neither:
  one end alone is 400 `export_range_incomplete`, a longer window 400 `export_range_too_long`;
  without a window the whole visible list is exported;
- RFC 4180 quoting (Python's csv module), UTF-8 with a header row; null is an empty cell, booleans
  `true`/`false`, objects and lists compact JSON;
- a text cell starting with `=`, `+`, `-`, `@`, tab or carriage return is prefixed with `'`, so a
  spreadsheet shows it as text instead of running it as a formula (OWASP CSV injection); numbers are
  written as they are.
"""

import csv
import datetime
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.http import Http404, StreamingHttpResponse
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import renderers, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.settings import ISO_8601, api_settings
from rest_framework.utils.encoders import JSONEncoder

EXPORT_MAX_DAYS = 31
CHUNK_ROWS = 2000  # rows per server-side cursor fetch, and per query for nested lists
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
RANGE_TOO_LONG = "export_range_too_long"
RANGE_INCOMPLETE = "export_range_incomplete"


class CSVRenderer(renderers.BaseRenderer):
    """Selects the CSV export (`?format=csv`, `Accept: text/csv`); the export itself streams from
    ExportMixin.list. Anything else that reaches it (an error body) is written as JSON."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return renderers.JSONRenderer().render(data)


FORMULA_CHARS = frozenset(FORMULA_PREFIXES)


def guard(text: str) -> str:
    """A cell a spreadsheet would read as a formula becomes text."""
    return "'" + text if text and text[0] in FORMULA_CHARS else text


def cell(value) -> str:
    """A JSON value as one CSV cell."""
    if isinstance(value, str):
        return "'" + value if value and value[0] in FORMULA_CHARS else value
    if value is None:
        return ""
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dict | list):
        return guard(json.dumps(value, cls=JSONEncoder, ensure_ascii=False, separators=(",", ":")))
    return guard(str(value))


# Fields whose JSON value is the model's value itself (str, int, bool, float): no conversion per cell.
_PLAIN = frozenset(
    kind.to_representation
    for kind in (
        serializers.CharField,
        serializers.ChoiceField,
        serializers.IntegerField,
        serializers.BooleanField,
        serializers.FloatField,
        serializers.ReadOnlyField,
    )
)


def _representation(source_field: serializers.Field):
    """value -> the JSON value, as `source_field.to_representation` gives it (None: the value itself);
    the common DRF fields are done inline (a 200,000-row export converts two million values)."""
    kind = type(source_field)
    method = kind.to_representation
    if method in _PLAIN:
        return None
    date_format = getattr(source_field, "format", api_settings.DATE_FORMAT)
    if method is serializers.DateField.to_representation and date_format.lower() == ISO_8601:
        return datetime.date.isoformat
    if (
        method is serializers.DateTimeField.to_representation
        and kind.enforce_timezone is serializers.DateTimeField.enforce_timezone
        and getattr(source_field, "format", api_settings.DATETIME_FORMAT).lower() == ISO_8601
        and not hasattr(source_field, "timezone")
    ):
        zone = source_field.default_timezone()

        def iso(value, zone=zone):
            text = (value.astimezone(zone) if zone is not None else value).isoformat()
            return text[:-6] + "Z" if text.endswith("+00:00") else text

        return iso
    return source_field.to_representation


@dataclass(frozen=True)
class Column:
    """One CSV column: the values it is read from and how they become the JSON list's value."""

    lookups: tuple[str, ...]
    convert: Callable | None = None  # the lookups' values -> the JSON value (default: the one value)
    source_field: serializers.Field | None = field(default=None, compare=False)  # its to_representation

    def cell_function(self, indexes: list[int]) -> Callable[[tuple], str]:
        """values_list row -> this column's cell."""
        if self.convert is not None:
            convert = self.convert
            return lambda values: cell(convert(*(values[i] for i in indexes)))
        (index,) = indexes
        representation = None if self.source_field is None else _representation(self.source_field)
        if representation is None:
            return lambda values: cell(values[index])

        def represented(values):
            value = values[index]
            return "" if value is None else cell(representation(value))

        return represented


@dataclass(frozen=True)
class NestedList:
    """A nested `many=True` serializer: one query per chunk of rows, one JSON cell per row."""

    relation: str
    child: serializers.Serializer


def columns_of(serializer: serializers.Serializer, overrides: dict[str, Column]) -> dict[str, Column | NestedList]:
    """The serializer's fields as columns, `object.field` for a nested object's fields."""
    columns: dict[str, Column | NestedList] = {}

    def walk(fields, name_prefix: str, lookup_prefix: str):
        for name, serializer_field in fields.items():
            if serializer_field.write_only:
                continue
            full = name_prefix + name
            if full in overrides:
                columns[full] = overrides[full]
            elif isinstance(serializer_field, serializers.ListSerializer):
                columns[full] = NestedList(lookup_prefix + serializer_field.source, serializer_field.child)
            elif isinstance(serializer_field, serializers.Serializer):
                walk(
                    serializer_field.fields, full + ".", lookup_prefix + "__".join(serializer_field.source_attrs) + "__"
                )
            elif isinstance(serializer_field, serializers.SerializerMethodField) or serializer_field.source == "*":
                raise ImproperlyConfigured(f"The export column {full!r} is computed: declare it in export_columns.")
            else:
                lookup = lookup_prefix + "__".join(serializer_field.source_attrs)
                columns[full] = Column((lookup,), source_field=serializer_field)

    walk(serializer.fields, "", "")
    return columns


def _nested_cells(model, nested: NestedList, ids: list) -> dict:
    """id -> the JSON list of its related rows, in the related model's order (as prefetch_related gives)."""
    relation = model._meta.get_field(nested.relation)
    related, attname = relation.related_model, relation.field.attname
    grouped: dict = {pk: [] for pk in ids}
    for obj in related._default_manager.filter(**{f"{attname}__in": ids}).iterator():
        grouped[getattr(obj, attname)].append(nested.child.to_representation(obj))
    return {pk: cell(items) for pk, items in grouped.items()}


def rows(queryset, columns: dict[str, Column | NestedList], *, chunk_size: int = CHUNK_ROWS) -> Iterator[list[str]]:
    """The queryset's rows as lists of cells, read in chunks from one server-side cursor in one transaction."""
    lookups = list(dict.fromkeys(lookup for c in columns.values() if isinstance(c, Column) for lookup in c.lookups))
    position = {lookup: index + 1 for index, lookup in enumerate(lookups)}
    nested = {name: column for name, column in columns.items() if isinstance(column, NestedList)}
    lists: dict[str, dict] = {}  # per chunk: column -> row id -> its cell
    functions = [
        column.cell_function([position[lookup] for lookup in column.lookups])
        if isinstance(column, Column)
        else (lambda values, name=name: lists[name][values[0]])
        for name, column in columns.items()
    ]
    model = queryset.model
    batch: list[tuple] = []

    def flush():
        if nested:
            ids = [values[0] for values in batch]
            lists.update({name: _nested_cells(model, column, ids) for name, column in nested.items()})
        for values in batch:
            yield [function(values) for function in functions]
        batch.clear()

    # One read-only transaction around the cursor: Django then opens it WITHOUT HOLD, so it lives and
    # dies with this transaction, which keeps one server connection behind a pooler in transaction
    # mode (PgBouncer) for the whole export (a cursor WITH HOLD would outlive its server connection).
    with transaction.atomic():
        for values in queryset.prefetch_related(None).values_list("pk", *lookups).iterator(chunk_size=chunk_size):
            batch.append(values)
            if len(batch) >= chunk_size:
                yield from flush()
        if batch:
            yield from flush()


class _Line:
    """csv.writer's target: `writerow` returns the line instead of buffering it."""

    def write(self, line: str) -> str:
        return line


def csv_lines(header: list[str], body: Iterable[list[str]], *, lines_per_chunk: int = 500) -> Iterator[bytes]:
    """UTF-8 CSV, the header first, a few hundred lines per chunk sent."""
    writer = csv.writer(_Line())
    pending = [writer.writerow(header)]
    for row in body:
        pending.append(writer.writerow(row))
        if len(pending) >= lines_per_chunk:
            yield "".join(pending).encode("utf-8")
            pending.clear()
    if pending:
        yield "".join(pending).encode("utf-8")


def _moment(value, *, upper: bool) -> datetime.datetime | None:
    """A `from`/`to` value as a point in time; a date counts whole (`to` a date: the end of that day)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime.datetime):
        return value if timezone.is_aware(value) else timezone.make_aware(value, datetime.UTC)
    if isinstance(value, datetime.date):
        start = datetime.datetime.combine(value, datetime.time.min, tzinfo=datetime.UTC)
        return start + datetime.timedelta(days=1) if upper else start
    return None


def check_window(cleaned: dict, lower_names: tuple[str, ...], upper_names: tuple[str, ...]) -> None:
    """Both ends or neither, at most EXPORT_MAX_DAYS apart (400 naming the filter otherwise)."""
    lowers = [(name, _moment(cleaned.get(name), upper=False)) for name in lower_names]
    uppers = [(name, _moment(cleaned.get(name), upper=True)) for name in upper_names]
    lowers = [(name, moment) for name, moment in lowers if moment is not None]
    uppers = [(name, moment) for name, moment in uppers if moment is not None]
    if not lowers and not uppers:
        return
    if not lowers or not uppers:
        given, missing = (uppers, lower_names[0]) if uppers else (lowers, upper_names[0])
        raise ValidationError(
            {
                given[0][0]: [
                    f"An export window needs both ends: give `{missing}` too (at most {EXPORT_MAX_DAYS} days "
                    "apart), or neither to export the whole list."
                ]
            },
            code=RANGE_INCOMPLETE,
        )
    start, (end_name, end) = max(moment for _, moment in lowers), min(uppers, key=lambda pair: pair[1])
    if end - start > datetime.timedelta(days=EXPORT_MAX_DAYS):
        raise ValidationError(
            {end_name: [f"An export covers at most {EXPORT_MAX_DAYS} days: narrow the window or export it in parts."]},
            code=RANGE_TOO_LONG,
        )


class ExportMixin:
    """`?format=csv` / `Accept: text/csv` on the list: every row of the filtered list as streamed CSV.

    - `export_name`: the list's name (audit entry, file name);
    - `export_columns`: columns for the fields the serializer computes (`Column(lookups, convert)`);
    - `export_window`: (`from`-like filters, `to`-like filters) that bound a time window, if any.
    `export_started(request, detail)` is called before the first row (the audit entry).
    """

    export_name = ""
    export_columns: dict[str, Column] = {}
    export_window: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())

    def get_renderers(self):
        renderers_ = super().get_renderers()
        if getattr(self, "action", None) == "list":
            renderers_.append(CSVRenderer())
        return renderers_

    def perform_content_negotiation(self, request, force=False):
        empty = request.query_params.get(api_settings.URL_FORMAT_OVERRIDE) == ""
        if not force and empty and getattr(self, "action", None) == "list":
            # DRF reads an empty `?format=` as no format at all (JSON); the schema offers json or csv only.
            raise ValidationError({"format": ["Use format=csv for a CSV export, or leave format out for JSON."]})
        try:
            return super().perform_content_negotiation(request, force)
        except Http404:
            # DRF answers an unknown `?format=` with 404; on a list that offers CSV it is a bad parameter.
            if getattr(self, "action", None) is None:
                # A method the route does not have (TRACE ...): negotiate anyway, so the answer is the 405.
                return super().perform_content_negotiation(request, force=True)
            if self.action != "list":
                raise
            raise ValidationError(
                {"format": ["Use format=csv for a CSV export, or leave format out for JSON."]}, code="invalid"
            ) from None

    def finalize_response(self, request, response, *args, **kwargs):
        # An error of an export is JSON like every other error (the caller asked for CSV rows).
        if isinstance(getattr(request, "accepted_renderer", None), CSVRenderer) and getattr(
            response, "exception", False
        ):
            request.accepted_renderer, request.accepted_media_type = renderers.JSONRenderer(), "application/json"
        return super().finalize_response(request, response, *args, **kwargs)

    def list(self, request, *args, **kwargs):
        if isinstance(getattr(request, "accepted_renderer", None), CSVRenderer):
            return self.export(request)
        return super().list(request, *args, **kwargs)

    def export_filters(self, request) -> dict:
        """The query parameters as given (the audit entry's record of what was exported)."""
        skip = {"format", "page", "page_size"}
        return {
            name: values if len(values) > 1 else values[0]
            for name, values in request.query_params.lists()
            if name not in skip
        }

    def export_started(self, request, detail: dict) -> None:
        """Called once the export is allowed, before the first row (accounts.activity records it)."""

    def export(self, request):
        # Every row is exported, but a malformed `page` or `page_size` is still a 400, as on the JSON list.
        check_query = getattr(self.paginator, "check_query", None)
        if check_query is not None:
            check_query(self.request)
        base = self.get_queryset()
        queryset = self.filter_queryset(base)  # a bad filter value is a 400 here, before anything streams
        lower_names, upper_names = self.export_window
        if lower_names or upper_names:
            for backend in self.filter_backends:
                if issubclass(backend, DjangoFilterBackend):
                    filterset = backend().get_filterset(request, base, self)
                    if filterset is not None and filterset.is_valid():
                        check_window(filterset.form.cleaned_data, lower_names, upper_names)
        # The filters run once here, in the view: a value the database refuses (a date it cannot hold,
        # an offset out of range) is answered like the JSON list's, not as a stream broken after its start.
        list(queryset.values_list("pk", flat=True)[:1])
        columns = columns_of(self.get_serializer(), self.export_columns)
        self.export_started(request, {"list": self.export_name, "filters": self.export_filters(request)})
        response = StreamingHttpResponse(
            csv_lines(list(columns), rows(queryset, columns)), content_type="text/csv; charset=utf-8"
        )
        stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
        response["Content-Disposition"] = f'attachment; filename="{self.export_name}-{stamp}.csv"'
        return response
