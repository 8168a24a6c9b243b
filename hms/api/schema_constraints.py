"""Rules the views enforce by hand, written into the schema (drf-spectacular postprocessing hook).

Most constraints reach the schema from the serializers' and filters' own fields (hms.api.schema). A
few parameters are parsed by hand in a view, and the schema only knew their type; a client (or the
schema-driven fuzzer, bin/fuzz) then sends values the view refuses with 400. Each such rule is
listed here once, next to the code that enforces it; test: hms/tests/test_schema_constraints.py.
"""

import datetime
import re

from django.conf import settings
from django.utils import timezone

from feed.topics import MAX_TOPICS, kinds
from hms.api.roles import STAFF_ROLES, Role

# (path, method, parameter name) -> JSON Schema keywords the parameter's schema gains.
PARAMETERS: dict[tuple[str, str, str], dict] = {
    # feed.views.EventListView: `after` is an event id (digits, at most 18 of them), `limit` is positive.
    ("/api/v1/events/", "get", "after"): {"minimum": 0, "maximum": 10**18 - 1},
    ("/api/v1/events/", "get", "limit"): {"minimum": 1, "maximum": 10**18 - 1},
    # feed.topics.split: at least one name that is not blank (the names are comma-separated here).
    ("/api/v1/events/", "get", "topics"): {"pattern": "[^,\\s]", "example": "hospital.1.beds"},
}

# (component, property) -> keywords, for request bodies a view checks by hand.
PROPERTIES: dict[tuple[str, str], dict] = {
    # feed.topics.split: one to MAX_TOPICS names (each a topic of the feed: TOPIC_LISTS below). Blank names are
    # skipped, so a blank may stand beside a topic (BLANKS_SKIPPED), but not every name may be blank (400
    # invalid_topics): `not` every item blank (OpenAPI 3.0 has no `contains`).
    ("StreamTicketRequestRequest", "topics"): {
        "minItems": 1,
        "maxItems": MAX_TOPICS,
        "not": {"items": {"type": "string", "pattern": "^\\s*$"}},
    },
}

# (component, property) -> the property's whole schema, where the serializer accepts fewer values than the
# model field it names: an ambulance's status is set by hand only to emergency.models.Ambulance's
# MANUAL_STATUSES (dispatched and busy follow emergencies).
REPLACED: dict[tuple[str, str], dict] = {
    ("AmbulanceStatusInRequest", "status"): {
        "type": "string",
        "enum": ["available", "out_of_service"],
        "description": "`available` or `out_of_service`; `dispatched` and `busy` follow emergencies only.",
    },
}

# Required-together and either-or fields (hms.api.serializers.validate_coordinates: latitude and longitude both or
# neither; an emergency also needs a place: coordinates or a non-blank address). Only on bodies that
# create: an update's missing coordinate is taken from the stored record, which no schema can know.
_BOTH = {
    "required": ["latitude", "longitude"],
    "properties": {"latitude": {"type": "number"}, "longitude": {"type": "number"}},
}
_NEITHER = {
    "properties": {"latitude": {"nullable": True, "enum": [None]}, "longitude": {"nullable": True, "enum": [None]}}
}
COMPONENTS: dict[str, dict] = {
    # hospitals.serializers.beds.AdmitIn: a registered patient or a walk-in's name, exactly one of them.
    "AdmitInRequest": {"oneOf": [{"required": ["patient_id"]}, {"required": ["patient_name"]}]},
    # appointments.serializers.doctors.DoctorCreateIn: a new account (`user`) or an existing one (`user_id`),
    # exactly one of them.
    "DoctorCreateInRequest": {"oneOf": [{"required": ["user"]}, {"required": ["user_id"]}]},
    # appointments.serializers.bookings.AppointmentCreateIn.validate: a slot to book or a hold to book from (the
    # hold names its slot), at least one of them (400 required on slot_id).
    "AppointmentCreateInRequest": {"anyOf": [{"required": ["slot_id"]}, {"required": ["hold_id"]}]},
    "HospitalCreateInRequest": {"anyOf": [_BOTH, _NEITHER]},
    "EmergencyInRequest": {
        "anyOf": [
            _BOTH,
            {"required": ["address"], "properties": {**_NEITHER["properties"], "address": {"pattern": "\\S"}}},
        ]
    },
}


# A body one of COMPONENTS' rules requires a field of in every alternative cannot be left out either: DRF reads
# a missing body as {}, refused like one (400 required: a booking's slot_id, an admission's patient_id or
# patient_name). drf-spectacular marks a body required only when its serializer has a required field, and
# these have none (the rule is across fields), so their operations said the body was optional. Schemathesis
# sent valid bookings without one (POST /appointment/opd/book, seeds 544964158 and 548930227), each a 400.
def _requires_a_field(rule: dict) -> bool:
    alternatives = rule.get("anyOf", []) + rule.get("oneOf", [])
    return bool(alternatives) and all(alternative.get("required") for alternative in alternatives)


def _require_bodies(paths: dict) -> None:
    refs = {f"#/components/schemas/{name}" for name, rule in COMPONENTS.items() if _requires_a_field(rule)}
    for operations in paths.values():
        for operation in operations.values():
            body = operation.get("requestBody") if isinstance(operation, dict) else None
            schemas = [content.get("schema", {}) for content in (body or {}).get("content", {}).values()]
            if schemas and all(schema.get("$ref") in refs for schema in schemas):
                body["required"] = True


# (path, method) -> the request body's schema, where a view reads more bodies than its serializer:
# cancelling an appointment treats any falsy JSON body (null, false, 0, "", []) as no body at all and reads
# the reason from the query string instead (appointments.views, the seed-compatible cancel).
BODIES: dict[tuple[str, str], dict] = {
    ("/api/v1/appointments/{id}/cancel/", "post"): {
        "anyOf": [
            {"$ref": "#/components/schemas/CancelInRequest"},
            {"nullable": True, "enum": [None, False, 0, "", []]},
        ]
    },
}

# A doctor's consultation fee is a DecimalField with two decimal places (appointments.models.Doctor; DRF refuses
# more digits, 400 max_digits / max_decimal_places): a multiple of 0.01 (JSON numbers 0.57 and 1234.5 are).
for _component in ("DoctorCreateInRequest", "DoctorUpdateInRequest", "PatchedDoctorUpdateInRequest"):
    PROPERTIES[(_component, "consultation_fee")] = {"multipleOf": 0.01}

# A new ambulance's place: both coordinates or neither (hms.api.serializers.validate_coordinates); on
# create only, as for a hospital (an update takes a missing one from the stored record).
BODIES[("/api/v1/ambulances/", "post")] = {
    "allOf": [{"$ref": "#/components/schemas/AmbulanceInRequest"}, {"anyOf": [_BOTH, _NEITHER]}]
}

# accounts.serializers.UserIn on create (POST /api/v1/users): a password is required, a doctor is created
# through /api/v1/doctors (a PUT may repeat a doctor's own role, so the component keeps it), and a staff
# account (hms.api.roles.STAFF_ROLES) belongs to a hospital, any other to none.
_NEW_ACCOUNT_ROLES = [role.value for role in Role if role != Role.DOCTOR]
BODIES[("/api/v1/users/", "post")] = {
    "allOf": [
        {"$ref": "#/components/schemas/UserInRequest"},
        {
            "required": ["password"],
            "properties": {"role": {"type": "string", "enum": _NEW_ACCOUNT_ROLES}},
            "anyOf": [
                {
                    "properties": {
                        "role": {"enum": [role for role in _NEW_ACCOUNT_ROLES if role not in STAFF_ROLES]},
                        "hospital_id": {"nullable": True, "enum": [None]},
                    }
                },
                {
                    "required": ["role", "hospital_id"],
                    "properties": {
                        "role": {"enum": [role for role in _NEW_ACCOUNT_ROLES if role in STAFF_ROLES]},
                        "hospital_id": {"type": "integer"},
                    },
                },
            ],
        },
    ]
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


def _day(days: int) -> str:
    return (timezone.localdate() + datetime.timedelta(days=days)).isoformat()


def _moment(days: int, hour: int = 9) -> str:
    day = timezone.localdate() + datetime.timedelta(days=days)
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=datetime.UTC).isoformat().replace("+00:00", "Z")


# (component, property) -> an example the API accepts, for values whose rule is relative to today (a
# reservation lapses within 7 days, a donation is not in the future, a waitlist date is at most some
# days ahead, ...) or to another field (an end after its start). Computed when the schema is built: a
# fixed date would soon be in the past. Examples only document; the rules stay in the serializers.
EXAMPLES: dict[tuple[str, str], object] = {
    ("BloodRequestInRequest", "required_by"): lambda: _moment(1),
    ("DonationInRequest", "donated_on"): lambda: _day(0),
    ("DonationInRequest", "expires_on"): lambda: _day(30),
    ("GenerateSlotsInRequest", "from_date"): lambda: _day(1),
    ("GenerateSlotsInRequest", "to_date"): lambda: _day(7),
    ("LeaveCreateInRequest", "start"): lambda: _moment(200, 9),
    ("LeaveCreateInRequest", "end"): lambda: _moment(200, 11),
    ("OpdScheduleInRequest", "valid_from"): lambda: _day(0),
    ("OpdScheduleInRequest", "valid_until"): lambda: _day(30),
    ("OpdScheduleInRequest", "start_time"): "09:00:00",
    ("OpdScheduleInRequest", "end_time"): "13:00:00",
    ("PatchedOpdScheduleInRequest", "valid_from"): lambda: _day(0),
    ("PatchedOpdScheduleInRequest", "valid_until"): lambda: _day(30),
    ("PatchedOpdScheduleInRequest", "start_time"): "09:00:00",
    ("PatchedOpdScheduleInRequest", "end_time"): "13:00:00",
    ("QueueCreateInRequest", "date"): lambda: _day(1),
    ("SlotCreateInRequest", "start"): lambda: f"{_day(2)}T09:00:00",  # hospital-local: no offset
    ("SlotCreateInRequest", "end"): lambda: f"{_day(2)}T09:30:00",
    ("ReserveInRequest", "until"): lambda: _moment(1),
    ("StockLotInRequest", "collected_on"): lambda: _day(0),
    ("StockLotInRequest", "expires_on"): lambda: _day(30),
    ("VisitCreateInRequest", "visited_at"): lambda: _moment(-1),
    ("WaitlistCreateInRequest", "date"): lambda: _day(1),
    ("WaitlistCreateInRequest", "from_time"): "09:00:00",
    ("WaitlistCreateInRequest", "to_time"): "17:00:00",
    # A webhook's host must resolve to a public address (an IP literal needs no DNS), its topics must be
    # topics of the feed.
    ("WebhookInRequest", "url"): "https://93.184.216.34/hms-webhook",
    ("WebhookInRequest", "topics"): ["hospital.1.beds"],
    ("PatchedWebhookInRequest", "url"): "https://93.184.216.34/hms-webhook",
    ("PatchedWebhookInRequest", "topics"): ["hospital.1.beds"],
}


# Lists of feed topics (a stream ticket's, a webhook's): each name one of feed.topics' registered kinds
# (else 400 unknown_topic), surrounding blanks ignored as feed.topics.split does.
TOPIC_LISTS = (
    ("StreamTicketRequestRequest", "topics"),
    ("WebhookInRequest", "topics"),
    ("PatchedWebhookInRequest", "topics"),
)


# A stream ticket's list skips blank names (feed.topics.split), so a blank entry beside a topic is taken.
BLANKS_SKIPPED = {("StreamTicketRequestRequest", "topics")}


def topic_pattern(*, blank: bool = False) -> str:
    names = "|".join(re.escape(kind.template).replace(re.escape("{id}"), "[1-9][0-9]{0,17}") for kind in kinds())
    return f"^\\s*({names}){'?' if blank else ''}\\s*$"


def _new_password_keywords() -> dict:
    keywords = {}
    for validator in settings.AUTH_PASSWORD_VALIDATORS:
        name = validator["NAME"].rsplit(".", 1)[-1]
        if name == "MinimumLengthValidator":
            keywords["minLength"] = validator.get("OPTIONS", {}).get("min_length", 8)
        elif name == "NumericPasswordValidator":
            keywords["pattern"] = "[^0-9]"  # at least one character that is not a digit
    return keywords


# U+0000 is refused in every string a request carries (hms.api.null_characters: 400 `null_character` in
# a query parameter or a JSON body, 404 in the path; PostgreSQL's text cannot hold it), so every string
# schema of a request says so: `not` a string holding one. A `not` composes with the field's own
# `pattern` or `anyOf` (JSON Schema has one `pattern` per schema). Schema-valid data then never holds
# U+0000, and the fuzzer's schema-violating data still sends it (bin/fuzz: --generation-allow-x00).
NO_NUL = {"pattern": "[\\u0000]"}
_SUBSCHEMAS = ("items", "additionalProperties")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")


def refuse_nul(schema) -> None:
    """Adds `not: NO_NUL` to each free-text string schema in `schema` (nested properties and items too)."""
    if not isinstance(schema, dict):
        return
    free_text = schema.get("type") == "string" and not ({"enum", "not"} & schema.keys() or schema.get("readOnly"))
    if free_text and schema.get("format") != "binary":
        schema["not"] = dict(NO_NUL)
    for child in schema.get("properties", {}).values():
        refuse_nul(child)
    for keyword in _SUBSCHEMAS:
        refuse_nul(schema.get(keyword))
    for keyword in _SCHEMA_LISTS:
        for child in schema.get(keyword, ()):
            refuse_nul(child)


def _refuse_nul_in_requests(paths: dict, components: dict) -> None:
    for name, component in components.items():
        if name.endswith("Request"):  # request bodies only (COMPONENT_SPLIT_REQUEST names them so)
            refuse_nul(component)
    for operations in paths.values():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                if parameter.get("in") in ("query", "path"):
                    refuse_nul(parameter.get("schema"))
            for content in operation.get("requestBody", {}).get("content", {}).values():
                refuse_nul(content.get("schema"))


def add_constraints(result, generator, request, public):
    paths = result.get("paths", {})
    components = result.get("components", {}).get("schemas", {})
    for (component, name), keywords in PROPERTIES.items():
        field = components.get(component, {}).get("properties", {}).get(name)
        if field is not None:
            field.update(keywords)
    for component, name in TOPIC_LISTS:
        field = components.get(component, {}).get("properties", {}).get(name)
        if field is not None and isinstance(field.get("items"), dict):
            if (component, name) in BLANKS_SKIPPED:
                field["items"] = {"type": "string", "pattern": topic_pattern(blank=True)}
            else:  # a webhook's topic: at most 100 characters as sent (hms.api.strict), blanks included
                field["items"]["pattern"] = topic_pattern()
            field.setdefault("example", ["hospital.1.beds"])
    for component, name in NEW_PASSWORDS:
        field = components.get(component, {}).get("properties", {}).get(name)
        if field is not None:
            field.update(_new_password_keywords())
    _add_record_ids(paths, components)
    for (component, name), replacement in REPLACED.items():
        properties = components.get(component, {}).get("properties", {})
        if name in properties:
            properties[name] = dict(replacement)
    for component, keywords in COMPONENTS.items():
        if component in components:
            components[component].update(keywords)
    _require_bodies(paths)
    for (component, name), example in EXAMPLES.items():
        field = components.get(component, {}).get("properties", {}).get(name)
        if field is not None:
            field["example"] = example() if callable(example) else example
    for (path, method), body in BODIES.items():
        content = paths.get(path, {}).get(method, {}).get("requestBody", {}).get("content", {})
        if "application/json" in content:
            content["application/json"]["schema"] = body
    for (path, method, name), keywords in PARAMETERS.items():
        operation = paths.get(path, {}).get(method)
        if operation is None:
            continue
        for parameter in operation.get("parameters", []):
            if parameter.get("name") == name and parameter.get("in") in ("query", "path"):
                parameter.setdefault("schema", {}).update(keywords)
    _refuse_nul_in_requests(paths, components)
    return result
