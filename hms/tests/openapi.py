"""Test helpers: the served OpenAPI document, and checking a response body against it."""

import jsonschema
from rest_framework.test import APIClient


def openapi() -> dict:
    response = APIClient().get("/api/schema", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def _as_json_schema(node):
    """OpenAPI 3.0 `nullable: true` as JSON Schema (`type: [t, "null"]`, or null added to an enum)."""
    if isinstance(node, list):
        return [_as_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _as_json_schema(value) for key, value in node.items()}
    if node.pop("nullable", False):
        if "type" in node:
            node["type"] = [node["type"], "null"]
        if "enum" in node and None not in node["enum"]:
            node["enum"] = [*node["enum"], None]
        if "type" not in node and "enum" not in node:
            node = {"anyOf": [node, {"type": "null"}]}
    return node


def response_schema(document: dict, path: str, method: str, status: int | str) -> dict:
    content = document["paths"][path][method.lower()]["responses"][str(status)]["content"]
    return content["application/json"]["schema"]


def assert_matches(document: dict, schema: dict, body) -> None:
    """Validate `body` against `schema` (which may `$ref` the document's components), formats included."""
    root = {"allOf": [_as_json_schema(schema)], "components": _as_json_schema(document["components"])}
    # OpenAPI 3.0 schema objects follow JSON Schema draft 4 (boolean exclusiveMaximum and friends).
    jsonschema.Draft4Validator(root, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER).validate(body)


def assert_response_documented(document: dict, path: str, method: str, response) -> None:
    """The response's status is documented for the operation and its body matches that schema."""
    operation = document["paths"][path][method.lower()]
    assert str(response.status_code) in operation["responses"], (path, method, response.status_code)
    if response.status_code != 204:
        assert_matches(document, response_schema(document, path, method, response.status_code), response.json())
