"""U+0000 in the schema (hms/api/schema_constraints.py `refuse_nul`): every free-text string a request
carries says it holds no NUL character, as the API refuses one (hms/api/null_characters.py), so
schema-valid data never holds one and the fuzzer (bin/fuzz) sends them only as schema-violating data."""

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from schemathesis.generation.jsonschema.builder import build
from schemathesis.generation.jsonschema.context import Alphabet

from hms.api.schema_constraints import NO_NUL, refuse_nul

pytestmark = pytest.mark.django_db


def _free_text(schema, where, found):
    """(where, schema) of each string schema below `schema` that takes free text."""
    if not isinstance(schema, dict):
        return found
    if schema.get("type") == "string" and "enum" not in schema and not schema.get("readOnly"):
        found.append((where, schema))
    for name, child in schema.get("properties", {}).items():
        _free_text(child, f"{where}.{name}", found)
    for keyword in ("items", "additionalProperties"):
        _free_text(schema.get(keyword), f"{where}[{keyword}]", found)
    for keyword in ("allOf", "anyOf", "oneOf"):
        for index, child in enumerate(schema.get(keyword, ())):
            _free_text(child, f"{where}.{keyword}[{index}]", found)
    return found


def _request_strings(schema):
    found = []
    for name, component in schema["components"]["schemas"].items():
        if name.endswith("Request"):
            _free_text(component, name, found)
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
                if parameter["in"] in ("query", "path"):
                    _free_text(parameter.get("schema"), f"{method.upper()} {path} {parameter['name']}", found)
    return found


def test_every_string_a_request_carries_refuses_nul(schema):
    strings = _request_strings(schema)
    assert len(strings) > 100  # bodies and parameters both
    missing = [where for where, field in strings if field.get("not") != NO_NUL and field.get("format") != "binary"]
    assert missing == []


def test_the_rule_refuses_exactly_the_strings_holding_nul():
    field = {"type": "string", "pattern": "\\S"}
    refuse_nul(field)
    validator = jsonschema.Draft4Validator(field)
    assert validator.is_valid("a name")
    assert not validator.is_valid("a\x00name")
    assert not validator.is_valid("\x00")


def test_enums_and_answers_are_left_alone():
    enum, answer = {"type": "string", "enum": ["a"]}, {"type": "string", "readOnly": True}
    refuse_nul(enum)
    refuse_nul(answer)
    assert "not" not in enum and "not" not in answer


def test_the_fuzzers_schema_valid_strings_hold_no_nul():
    """schemathesis' generator (bin/fuzz runs it with NUL bytes allowed) honours the rule beside a pattern,
    a length and an either-or (an e-mail or blank)."""
    fields = [
        {"type": "string", "maxLength": 40},
        {"type": "string", "maxLength": 40, "pattern": "\\S"},
        {"type": "string", "anyOf": [{"format": "email"}, {"enum": [""]}]},
    ]
    drawn = []
    for field in fields:
        refuse_nul(field)
        strategy = build(field, draft=4, formats={}, alphabet=Alphabet(allow_x00=True))

        @settings(max_examples=150, database=None, suppress_health_check=list(HealthCheck))
        @given(strategy)
        def draw(value):
            drawn.append(value)

        draw()
    assert drawn
    assert not [value for value in drawn if "\x00" in value]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/auth/login/", {"username": "admin\x00", "password": "x"}),
        ("/api/v1/auth/login/?next=a%00b", {"username": "admin", "password": "x"}),
    ],
)
def test_the_api_refuses_what_the_schema_rules_out(admin_client, path, body):
    response = admin_client.post(path, body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["code"] == "null_character"
