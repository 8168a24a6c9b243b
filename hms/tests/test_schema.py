"""OpenAPI schema and the docs pages (API.md 10, 14): valid, complete for the foundation, no CDN."""

import json
import re

import pytest
import yaml
from django.core.management import call_command
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

EXTERNAL_URL = re.compile(r"""(?:https?:)?//(?!testserver\b)[a-z0-9.-]+\.[a-z]{2,}""", re.IGNORECASE)
HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def schema(django_db_blocker, tmp_path_factory):
    path = tmp_path_factory.mktemp("schema") / "schema.yaml"
    with django_db_blocker.unblock():
        call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))
    return yaml.safe_load(path.read_text())


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield path, method, operation


def test_schema_validates_without_warnings(schema):
    assert schema["openapi"].startswith("3.")
    assert schema["paths"]


def test_schema_documents_auth_users_and_health(schema):
    paths = set(schema["paths"])
    for expected in (
        "/auth/register",
        "/auth/login",
        "/auth/admin/login",
        "/auth/hospital/login",
        "/auth/refresh",
        "/auth/logout",
        "/auth/profile",
        "/auth/change-password",
        "/api/v1/auth/login",
        "/api/v1/users",
        "/api/v1/users/{id}",
        "/health",
        "/health/ready",
    ):
        assert any(p.rstrip("/") == expected for p in paths), expected
    assert not any(p.startswith(("/admin", "/metrics")) for p in paths)


def test_token_endpoints_declare_the_bearer_scheme_once(schema):
    assert schema["components"]["securitySchemes"]["jwtAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    profile = schema["paths"].get("/auth/profile") or schema["paths"]["/auth/profile/"]
    assert profile["get"]["security"] == [{"jwtAuth": []}]
    login = schema["paths"].get("/auth/login") or schema["paths"]["/auth/login/"]
    assert "security" not in login["post"] or login["post"]["security"] in ([], [{}])


def test_every_operation_has_a_unique_operation_id(schema):
    ids = [operation["operationId"] for _path, _method, operation in operations(schema)]
    assert len(ids) == len(set(ids))


def test_every_operation_documents_its_error_codes(schema):
    for path, method, operation in operations(schema):
        codes = set(operation["responses"])
        if path.startswith("/health"):
            continue
        assert "503" in codes, (path, method)
        if method in ("post", "put", "patch"):
            assert {"400", "413", "415"} <= codes, (path, method, codes)
        if any("jwtAuth" in requirement for requirement in operation.get("security", [])):
            assert "401" in codes, (path, method, codes)


@pytest.mark.parametrize(
    "path,method,codes",
    [
        ("/auth/login", "post", {"200", "400", "401", "429"}),
        ("/auth/admin/login", "post", {"200", "401", "403", "429"}),
        ("/auth/hospital/login", "post", {"200", "401", "403", "429"}),
        ("/auth/register", "post", {"201", "400", "409"}),
        ("/auth/refresh", "post", {"200", "400", "401"}),
        ("/auth/profile", "patch", {"200", "400", "401", "409"}),
        ("/auth/change-password", "post", {"200", "400", "401"}),
        ("/api/v1/users", "post", {"201", "400", "401", "403", "409"}),
        ("/api/v1/users/{id}", "delete", {"204", "401", "403", "404", "409"}),
        ("/health/ready", "get", {"200", "503"}),
    ],
)
def test_auth_and_users_operations_document_their_status_codes(schema, path, method, codes):
    operation = next(op for p, m, op in operations(schema) if p.rstrip("/") == path and m == method)
    assert codes <= set(operation["responses"]), (path, method, sorted(operation["responses"]))


def test_schema_endpoint_serves_json_and_yaml():
    client = APIClient()
    as_json = client.get("/api/schema", {"format": "json"})
    assert as_json.status_code == 200
    assert as_json["Content-Type"].startswith("application/vnd.oai.openapi+json") or as_json["Content-Type"].startswith(
        "application/json"
    )
    assert json.loads(as_json.content)["openapi"].startswith("3.")
    as_yaml = client.get("/api/schema/")
    assert as_yaml.status_code == 200
    assert yaml.safe_load(as_yaml.content)["info"]["title"] == "HMS API"


@pytest.mark.parametrize("path", ["/api/docs", "/api/docs/", "/api/redoc", "/api/redoc/"])
def test_docs_pages_are_html_without_any_cdn_url(path):
    response = APIClient().get(path, HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert not EXTERNAL_URL.search(html), EXTERNAL_URL.search(html).group(0)
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    assert any("sidecar" in asset for asset in assets), assets


@pytest.mark.parametrize("path", ["/api/docs", "/api/redoc"])
def test_docs_assets_are_served_locally(path):
    client = APIClient()
    html = client.get(path, HTTP_ACCEPT="text/html").content.decode()
    assets = [a for a in re.findall(r"""(?:src|href)=["']([^"']+\.(?:js|css))["']""", html)]
    assert assets
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200, asset
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert body
