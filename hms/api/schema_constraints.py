"""Rules the views enforce by hand, written into the schema (drf-spectacular postprocessing hook).

Most constraints reach the schema from the serializers' and filters' own fields (hms.api.schema). A
few parameters are parsed by hand in a view, and the schema only knew their type; a client (or the
schema-driven fuzzer, bin/fuzz) then sends values the view refuses with 400. Each such rule is
listed here once, next to the code that enforces it; test: hms/tests/test_schema_constraints.py.
"""

# (path, method, parameter name) -> JSON Schema keywords the parameter's schema gains.
PARAMETERS: dict[tuple[str, str, str], dict] = {
    # feed.views.EventListView: `after` is an event id (digits, at most 18 of them), `limit` is positive.
    ("/api/v1/events/", "get", "after"): {"minimum": 0, "maximum": 10**18 - 1},
    ("/api/v1/events/", "get", "limit"): {"minimum": 1, "maximum": 10**18 - 1},
}


def add_constraints(result, generator, request, public):
    paths = result.get("paths", {})
    for (path, method, name), keywords in PARAMETERS.items():
        operation = paths.get(path, {}).get(method)
        if operation is None:
            continue
        for parameter in operation.get("parameters", []):
            if parameter.get("name") == name and parameter.get("in") in ("query", "path"):
                parameter.setdefault("schema", {}).update(keywords)
    return result
