"""The URL resolver as a list of routes, in the OpenAPI path spelling drf-spectacular uses."""

import re
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

# Not part of the API contract: the Django admin, Prometheus, static files and the docs themselves.
# The SSE stream is served by the ASGI server (the REST server answers it 503) and never ends: it is
# described in the schema's description, not as an operation, and tested by feed/tests/test_stream.py.
# FHIR R4 (/fhir/R4/..., API.md section 18) speaks FHIR, not the API's JSON: resources, Bundles and
# OperationOutcomes keyed by `resourceType`, search parameters with prefixes and modifiers. Its
# machine-readable description is its own CapabilityStatement (GET /fhir/R4/metadata), which clients
# read instead of OpenAPI; fhir/tests covers every route, junk input included.
# The lobby display (/display/hospitals/{id}, API.md section 17) is an HTML page for a waiting-hall
# screen, not an API operation; display/tests covers it (in a real browser too).
UNDOCUMENTED = re.compile(
    r"^/(admin/|metrics/|static/|api/schema/|api/docs/|api/redoc/|api/v1/events/stream/|fhir/|display/)"
)
_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")
HTTP_METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class Route:
    path: str  # OpenAPI spelling: /api/v1/hospitals/{id}/
    regex: str
    pattern: URLPattern

    @property
    def view_class(self):
        callback = self.pattern.callback
        return getattr(callback, "cls", None) or getattr(callback, "view_class", None)

    @property
    def actions(self) -> dict:
        """method -> handler name (viewsets), or the methods an APIView implements."""
        callback = self.pattern.callback
        if getattr(callback, "actions", None):
            return {method: name for method, name in callback.actions.items() if method in HTTP_METHODS}
        cls = self.view_class
        if cls is None:
            return {"get": "get"}  # plain function views (health) answer GET
        return {method: method for method in HTTP_METHODS if hasattr(cls, method)}

    @property
    def parameters(self) -> list[str]:
        return re.findall(r"{(\w+)}", self.path)

    def url(self, **values) -> str:
        """The concrete path, without the trailing slash (every route must work without it)."""
        path = self.path
        for name, value in values.items():
            path = path.replace("{" + name + "}", str(value))
        return path.rstrip("/")


def _openapi_path(regex: str) -> str:
    path = regex.replace("^", "").replace("$", "")
    path = _GROUP.sub(lambda match: "{" + ("id" if match.group(1) == "pk" else match.group(1)) + "}", path)
    path = path.replace("/?", "/")
    return "/" + path


def _walk(patterns, prefix=""):
    for pattern in patterns:
        regex = prefix + pattern.pattern.regex.pattern.lstrip("^")
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, regex.rstrip("$"))
        else:
            yield Route(path=_openapi_path(regex), regex=regex, pattern=pattern)


def all_routes() -> list[Route]:
    return list(_walk(get_resolver().url_patterns))


def api_routes() -> list[Route]:
    """Every route the OpenAPI schema must document."""
    return [route for route in all_routes() if not UNDOCUMENTED.match(route.path)]


def list_routes() -> list[Route]:
    """GET routes without path parameters that answer a paginated list."""
    routes = []
    for route in api_routes():
        if route.parameters or "get" not in route.actions:
            continue
        if route.actions["get"] == "list" or route.actions["get"] == "my_records":
            routes.append(route)
    return routes
