"""Rules the views enforce by hand, written into the schema (drf-spectacular postprocessing hook).

Most constraints reach the schema from the serializers' and filters' own fields (hms.api.schema). A
few parameters are parsed by hand in a view, and the schema only knew their type; a client (or the
schema-driven fuzzer, bin/fuzz) then sends values the view refuses with 400. Each such rule is
listed here once, next to the code that enforces it; test: hms/tests/test_schema_constraints.py.
"""

from django.conf import settings

from feed.topics import MAX_TOPICS

# (path, method, parameter name) -> JSON Schema keywords the parameter's schema gains.
PARAMETERS: dict[tuple[str, str, str], dict] = {
    # feed.views.EventListView: `after` is an event id (digits, at most 18 of them), `limit` is positive.
    ("/api/v1/events/", "get", "after"): {"minimum": 0, "maximum": 10**18 - 1},
    ("/api/v1/events/", "get", "limit"): {"minimum": 1, "maximum": 10**18 - 1},
    # feed.topics.split: at least one name that is not blank (the names are comma-separated here).
    ("/api/v1/events/", "get", "topics"): {"pattern": "[^,\\s]"},
}

# (component, property) -> keywords, for request bodies a view checks by hand.
PROPERTIES: dict[tuple[str, str], dict] = {
    # feed.topics.split: one to MAX_TOPICS names, none blank.
    ("StreamTicketRequestRequest", "topics"): {
        "minItems": 1,
        "maxItems": MAX_TOPICS,
        "items": {"type": "string", "minLength": 1, "pattern": "\\S"},
    },
}

# Request bodies' new passwords: Django's password validators (AUTH_PASSWORD_VALIDATORS) refuse a short
# one and an all-digit one. (The common-password and similar-to-the-account checks stay unwritten.)
NEW_PASSWORDS = (
    ("ChangePasswordInRequest", "new_password"),
    ("PatchedUserInRequest", "password"),
    ("RegisterInRequest", "password"),
    ("StaffAccountInRequest", "password"),
    ("UserInRequest", "password"),
)


# Record ids (path parameters and request-body `*_id` fields typed integer): a primary key is a positive
# 64-bit integer (DEFAULT_AUTO_FIELD is BigAutoField), so 0, a negative or a larger number names no record
# (404 in a path, 400 does_not_exist in a body). Written where the schema only said "integer".
RECORD_ID = {"minimum": 1, "maximum": 2**63 - 1}
PATH_IDS = ("id", "doctor_id", "entry_id", "delivery_id")


def _is_record_id(name: str, schema: dict) -> bool:
    return (name == "id" or name.endswith("_id")) and schema.get("type") == "integer" and "minimum" not in schema


def _add_record_ids(paths: dict, components: dict) -> None:
    for operations in paths.values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
                schema = parameter.get("schema", {})
                if (
                    parameter.get("in") == "path"
                    and parameter.get("name") in PATH_IDS
                    and _is_record_id(parameter["name"], schema)
                ):
                    schema.update(RECORD_ID)
    for name, component in components.items():
        if not name.endswith("Request"):
            continue  # request bodies only: a response's ids are what the server wrote
        for field, schema in component.get("properties", {}).items():
            if not schema.get("readOnly") and _is_record_id(field, schema):
                schema.update(RECORD_ID)


def _new_password_keywords() -> dict:
    keywords = {}
    for validator in settings.AUTH_PASSWORD_VALIDATORS:
        name = validator["NAME"].rsplit(".", 1)[-1]
        if name == "MinimumLengthValidator":
            keywords["minLength"] = validator.get("OPTIONS", {}).get("min_length", 8)
        elif name == "NumericPasswordValidator":
            keywords["pattern"] = "[^0-9]"  # at least one character that is not a digit
    return keywords


def add_constraints(result, generator, request, public):
    paths = result.get("paths", {})
    components = result.get("components", {}).get("schemas", {})
    for (component, name), keywords in PROPERTIES.items():
        field = components.get(component, {}).get("properties", {}).get(name)
        if field is not None:
            field.update(keywords)
    for component, name in NEW_PASSWORDS:
        field = components.get(component, {}).get("properties", {}).get(name)
        if field is not None:
            field.update(_new_password_keywords())
    _add_record_ids(paths, components)
    for (path, method, name), keywords in PARAMETERS.items():
        operation = paths.get(path, {}).get(method)
        if operation is None:
            continue
        for parameter in operation.get("parameters", []):
            if parameter.get("name") == name and parameter.get("in") in ("query", "path"):
                parameter.setdefault("schema", {}).update(keywords)
    return result
