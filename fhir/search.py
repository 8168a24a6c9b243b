"""Read and search: one scoped queryset per HMS table, a searchset Bundle with `total` and paging links.

A search costs a fixed number of queries whatever the page holds: the hospitals' time zones (when a
date is searched), at most one count and one page query per table (no count when a first page is
not full: its length is the count), one query per `_include`.
"""

from urllib.parse import urlencode

from django.conf import settings
from rest_framework.exceptions import NotAuthenticated, NotFound, ValidationError

from accounts.activity import Action, record

from .params import count_value, date_condition, integer_ids, offset_value, prefixed_ids
from .shapes import compiled_rows, shape_key
from .types import Context, ResourceType

# Parameters every type takes (besides its own); `_format` and `_pretty` are accepted and change
# nothing (one representation: JSON). `_offset` is the paging position the `next` links carry.
COMMON = ("_id", "_lastUpdated", "_count", "_include")
ACCEPTED = (*COMMON, "_offset", "_format", "_pretty")


def base_url(request) -> str:
    return request.build_absolute_uri("/fhir/R4").rstrip("/")


def prefers_strict(request) -> bool:
    prefer = request.headers.get("Prefer", "")
    return any(item.strip().replace(" ", "") == "handling=strict" for item in prefer.split(";") + prefer.split(","))


def require_sign_in(rtype: ResourceType, request) -> None:
    if rtype.clinical and not (request.user and request.user.is_authenticated):
        raise NotAuthenticated()


def _filter_names(rtype: ResourceType) -> set[str]:
    return {name for part in rtype.parts for name in part.filters}


def _id_filter(part, queryset, values):
    for value in values:
        ids = [item.strip() for item in value.split(",")]
        pks = prefixed_ids(ids, part.prefix) if part.prefix else integer_ids(ids)
        queryset = queryset.filter(pk__in=pks)
    return queryset


def _last_updated(part, queryset, values, ctx):
    if part.zone_field is None:
        zones, zone_field = [settings.TIME_ZONE], None
    else:
        zones, zone_field = ctx.zones, part.zone_field
    return queryset.filter(date_condition("_lastUpdated", values, part.updated_field, zone_field, zones))


def search(rtype: ResourceType, request) -> dict:
    require_sign_in(rtype, request)
    ctx = Context(request)
    strict = prefers_strict(request)
    own = _filter_names(rtype)
    used, unknown = [], []
    for name in request.query_params:
        # A parameter without a value is ignored (FHIR search, "Handling errors").
        values = [value for value in request.query_params.getlist(name) if value != ""]
        if not values:
            continue
        (used if name in ACCEPTED or name in own else unknown).append((name, values))
    includes = [value for name, values in used if name == "_include" for value in values]
    unknown_includes = [value for value in includes if value not in rtype.includes]
    if strict and (unknown or unknown_includes):
        errors = {name: [f"{rtype.name} has no search parameter '{name}'."] for name, _ in unknown}
        if unknown_includes:
            errors["_include"] = [f"Unsupported _include: {', '.join(unknown_includes)[:200]}."]
        raise ValidationError(errors, code="unknown_parameter")
    given = dict(used)
    count = count_value(given.get("_count", []))
    offset = offset_value(given.get("_offset", []))

    part_includes = [name for name in includes if name in rtype.includes]
    fetchers = [_fetchers(rtype, index, part, used, own, part_includes, ctx) for index, part in enumerate(rtype.parts)]

    total, rows, skip, room = 0, [], offset, count
    for part, (page_of, count_of) in zip(rtype.parts, fetchers, strict=True):
        if room > 0 and skip == 0:
            # A first page with room to spare holds all the part's rows: its length is the count.
            page = page_of(0, room)
            part_total = len(page) if len(page) < room else count_of()
        else:
            part_total = count_of()
            page = page_of(skip, room) if room > 0 and skip < part_total else []
            skip = max(skip - part_total, 0)
        rows.extend((part, row) for row in page)
        room -= len(page)
        total += part_total

    base = base_url(request)
    entries = [
        {
            "fullUrl": f"{base}/{rtype.name}/{part.resource_id(part.pk_of(row))}",
            "resource": part.render(row, ctx),
            "search": {"mode": "match"},
        }
        for part, row in rows
    ]
    seen = {(rtype.name, entry["resource"]["id"]) for entry in entries}
    for include in dict.fromkeys(includes):
        if include not in rtype.includes or not rows:
            continue
        for resource in rtype.includes[include]([row for _, row in rows], ctx):
            key = (resource["resourceType"], resource["id"])
            if key in seen:
                continue
            seen.add(key)
            entries.append(
                {
                    "fullUrl": f"{base}/{resource['resourceType']}/{resource['id']}",
                    "resource": resource,
                    "search": {"mode": "include"},
                }
            )

    kept = [(name, value) for name, values in used if name not in ("_count", "_offset") for value in values]
    kept = [(name, value) for name, value in kept if name != "_include" or value in rtype.includes]
    links = [{"relation": "self", "url": _link(base, rtype.name, kept, count, offset)}]
    if count and offset + count < total:
        links.append({"relation": "next", "url": _link(base, rtype.name, kept, count, offset + count)})
    if count and offset > 0:
        links.append({"relation": "previous", "url": _link(base, rtype.name, kept, count, max(offset - count, 0))})
    bundle = {"resourceType": "Bundle", "type": "searchset", "total": total, "link": links}
    if entries:
        bundle["entry"] = entries
    return bundle


def _filtered(part, used, own, ctx):
    """The part's scoped queryset with the search's filters."""
    queryset = part.queryset(ctx)
    for name, values in used:
        if name == "_id":
            queryset = _id_filter(part, queryset, values)
        elif name == "_lastUpdated":
            queryset = _last_updated(part, queryset, values, ctx)
        elif name in part.filters:
            queryset = part.filters[name](queryset, values, ctx)
        elif name in own:
            queryset = queryset.none()  # the parameter names another table of this type
    return queryset


def _fetchers(rtype, index, part, used, own, includes, ctx):
    """(page(offset, limit) -> rows, count() -> int) of one part's matches."""
    if part.columns:
        compiled = compiled_rows(
            shape_key(rtype, index, ctx.request, used, includes),
            lambda ctx: part.rows(_filtered(part, used, own, ctx), ctx, includes),
            ctx,
        )
        return compiled.page, compiled.count
    queryset = _filtered(part, used, own, ctx)
    rows = part.rows(queryset, ctx, includes)
    return (lambda offset, limit: list(rows[offset : offset + limit])), queryset.count


def _link(base: str, type_name: str, kept: list, count: int, offset: int) -> str:
    query = [*kept, ("_count", str(count))]
    if offset:
        query.append(("_offset", str(offset)))
    return f"{base}/{type_name}?{urlencode(query)}"


def read(rtype: ResourceType, resource_id: str, request) -> dict:
    """One resource, or 404 (unknown, malformed or not visible to the caller). A patient's clinical
    record is audited as the REST API's detail reads are: `read`, or `read_denied` naming the patient
    whose record was probed."""
    require_sign_in(rtype, request)
    ctx = Context(request)
    found = rtype.part_for(resource_id)
    row = None
    if found is not None:
        part, pk = found
        row = part.rows(part.queryset(ctx).filter(pk=pk), ctx).first()
    audited = found is not None and found[0].audit_type
    if row is None:
        if audited:
            part, pk = found
            model = part.queryset(ctx).model
            patient_id = model.objects.filter(pk=pk).values_list(part.audit_patient, flat=True).first()
            record(
                action=Action.READ_DENIED,
                actor=request.user,
                object_type=part.audit_type,
                object_id=pk,
                patient_id=patient_id,
                detail={"fhir": f"{rtype.name}/{resource_id[:64]}"},
            )
        raise NotFound(f"{rtype.name}/{resource_id[:64]} is not known.")
    if audited:
        record(
            action=Action.READ,
            actor=request.user,
            object_type=part.audit_type,
            object_id=pk,
            patient_id=part.patient_of(row),
            detail={"fhir": f"{rtype.name}/{resource_id}"},
        )
    return part.render(row, ctx)
