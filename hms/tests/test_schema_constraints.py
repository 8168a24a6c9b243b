"""Rules views enforce by hand are in the schema (hms/api/schema_constraints.py): each listed parameter
carries its bounds, and the view answers as the schema says on both sides of each bound."""

import datetime
import re

import pytest
from rest_framework.test import APIClient

from hms.api.schema_constraints import (
    BLANKS_SKIPPED,
    BODIES,
    COMPONENTS,
    EXAMPLES,
    NEW_PASSWORDS,
    PARAMETERS,
    PROPERTIES,
    RECORD_ID,
    REPLACED,
    TOPIC_LISTS,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("path", "method", "name"), list(PARAMETERS))
def test_each_listed_parameter_carries_its_bounds(schema, path, method, name):
    parameters = {parameter["name"]: parameter for parameter in schema["paths"][path][method]["parameters"]}
    assert parameters[name]["schema"].items() >= PARAMETERS[(path, method, name)].items()


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("after=0&limit=1", 200),
        ("after=999999999999999999&limit=999999999999999999", 200),
        ("limit=0", 400),
        ("after=-1", 400),
        ("after=1000000000000000000", 400),
    ],
)
def test_the_event_page_answers_as_its_bounds_say(admin_client, hospital, query, status):
    response = admin_client.get(f"/api/v1/events/?topics=hospital.{hospital.pk}.beds&{query}")
    assert response.status_code == status, response.content


@pytest.mark.parametrize(("component", "name"), NEW_PASSWORDS)
def test_new_passwords_carry_the_password_validators_rules(schema, component, name):
    field = schema["components"]["schemas"][component]["properties"][name]
    assert field["minLength"] == 8
    assert field["pattern"] == "[^0-9]"


@pytest.mark.parametrize(
    ("password", "status"),
    [("Zq8-fuzz-Pass", 201), ("Zq8-fuz", 400), ("12345678901", 400)],
)
def test_registration_answers_as_the_password_rules_say(password, status):
    body = {"username": "newcomer", "fullname": "New Comer", "email": "newcomer@example.org", "password": password}
    response = APIClient().post("/api/v1/auth/register/", body, format="json")
    assert response.status_code == status, response.content


@pytest.mark.parametrize(("component", "name"), list(PROPERTIES))
def test_each_listed_property_carries_its_rules(schema, component, name):
    field = schema["components"]["schemas"][component]["properties"][name]
    assert field.items() >= PROPERTIES[(component, name)].items()


@pytest.mark.parametrize(
    ("topics", "ok"),
    [(["hospital.{pk}.beds"], True), ([], False), ([" "], False), ([f"hospital.{n}.beds" for n in range(51)], False)],
)
def test_a_stream_ticket_answers_as_its_topic_rules_say(admin_client, hospital, topics, ok):
    body = {"topics": [topic.replace("{pk}", str(hospital.pk)) for topic in topics]}
    response = admin_client.post("/api/v1/events/tickets/", body, format="json")
    assert (response.status_code < 300) is ok, response.content
    if not ok:
        assert response.status_code == 400, response.content


def test_the_event_page_refuses_blank_topics(admin_client):
    assert admin_client.get("/api/v1/events/?topics=,").status_code == 400


def test_record_ids_are_positive_64_bit_integers(schema):
    """Path ids and request-body `*_id` fields say what a primary key can be (BigAutoField)."""
    bed = schema["paths"]["/api/v1/beds/{id}/admit/"]["post"]["parameters"]
    assert next(p for p in bed if p["name"] == "id")["schema"] == {"type": "integer", **RECORD_ID}
    referral = schema["components"]["schemas"]["ReferralInRequest"]["properties"]
    assert referral["to_hospital_id"].items() >= RECORD_ID.items()
    assert referral["patient_id"].items() >= RECORD_ID.items()


@pytest.mark.parametrize(("bed_id", "status"), [(0, 404), (2**63 - 1, 404), (2**63, 404)])
def test_a_path_id_outside_the_range_names_no_record(admin_client, bed_id, status):
    assert admin_client.get(f"/api/v1/beds/{bed_id}/").status_code == status


@pytest.mark.parametrize("hospital_id", [0, -1, 2**63])
def test_a_body_id_outside_the_range_is_refused(admin_client, hospital_id):
    body = {"floor_number": "X1", "hospital_id": hospital_id}
    response = admin_client.post("/api/v1/floors/", body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["attr"] == "hospital_id"


@pytest.mark.parametrize(("component", "name"), list(EXAMPLES))
def test_each_listed_property_has_an_example_of_its_format(schema, component, name):
    field = schema["components"]["schemas"][component]["properties"][name]
    example = field["example"]
    if field.get("format") == "date":
        datetime.date.fromisoformat(example)
    elif field.get("format") == "date-time":
        datetime.datetime.fromisoformat(example)
    elif "pattern" in field and name in ("start", "end"):
        assert re.match(field["pattern"], example)
        assert datetime.date.fromisoformat(example[:10]) > datetime.date.today()
    elif field.get("format") == "uri":
        assert example.startswith("https://")
    elif field["type"] == "array":
        assert all(isinstance(item, str) for item in example)
    else:
        assert re.match(field["pattern"], example)


@pytest.mark.parametrize("component", list(COMPONENTS))
def test_each_listed_component_carries_its_required_together_rule(schema, component):
    assert schema["components"]["schemas"][component].items() >= COMPONENTS[component].items()


@pytest.mark.parametrize(
    ("place", "status"),
    [
        ({"latitude": 12.9, "longitude": 77.6}, 201),  # coordinates
        ({"address": "1 MG Road"}, 201),  # an address
        ({"address": "1 MG Road", "latitude": None, "longitude": None}, 201),
        ({}, 400),  # no place: neither branch of the schema's anyOf
        ({"address": "   "}, 400),
        ({"address": "1 MG Road", "latitude": 12.9}, 400),  # one coordinate alone
    ],
)
def test_an_emergency_answers_as_its_place_rule_says(admin_client, hospital, place, status):
    body = {"contact_number": "+91 98000 00001", "emergency_type": "other", "hospital_id": hospital.pk, **place}
    response = admin_client.post("/api/v1/emergencies/", body, format="json")
    assert response.status_code == status, response.content


@pytest.mark.parametrize(
    ("place", "status"),
    [({"latitude": 12.9, "longitude": 77.6}, 201), ({}, 201), ({"latitude": 12.9}, 400), ({"longitude": 7.6}, 400)],
)
def test_a_new_hospital_takes_both_coordinates_or_neither(admin_client, place, status):
    body = {"name": "Fuzz General", "registration_number": "REG-FUZZ-1", **place}
    response = admin_client.post("/api/v1/hospitals/", body, format="json")
    assert response.status_code == status, response.content


def test_an_ambulance_status_set_by_hand_is_one_of_the_manual_statuses(schema):
    from emergency.models import Ambulance

    field = schema["components"]["schemas"]["AmbulanceStatusInRequest"]["properties"]["status"]
    assert field == REPLACED[("AmbulanceStatusInRequest", "status")]
    assert set(field["enum"]) == set(Ambulance.MANUAL_STATUSES)


@pytest.mark.parametrize(("component", "name"), list(TOPIC_LISTS))
def test_each_topic_list_names_topics_of_the_feed(schema, component, name):
    field = schema["components"]["schemas"][component]["properties"][name]
    pattern = re.compile(field["items"]["pattern"])
    assert all(pattern.search(topic) for topic in ["hospital.1.beds", "bloodbank.7.stock", " hospital.2.beds "])
    assert not any(pattern.search(topic) for topic in ["0", "hospital.0.beds", "hospital.x.beds", "hospital.1.bed"])
    assert field["example"] == ["hospital.1.beds"]
    assert bool(pattern.search("")) is ((component, name) in BLANKS_SKIPPED)
    # A webhook's topic is at most 100 characters as sent, blanks included; a stream ticket's has no limit.
    assert field["items"].get("maxLength") == (None if (component, name) in BLANKS_SKIPPED else 100)


def test_a_stream_ticket_skips_a_blank_topic_beside_a_real_one(admin_client, hospital):
    body = {"topics": [f"hospital.{hospital.pk}.beds ", ""]}
    assert admin_client.post("/api/v1/events/tickets/", body, format="json").status_code == 201


@pytest.mark.parametrize(
    ("topic", "status"),
    [("hospital.{pk}.beds", 201), (" hospital.{pk}.beds ", 201), ("hospital.{pk}.beds" + " " * 100, 400), ("0", 400)],
)
def test_a_webhook_answers_as_its_topic_pattern_says(admin_client, hospital, topic, status, monkeypatch):
    monkeypatch.setattr("webhooks.services._check_url", lambda url: None)
    body = {"url": "https://93.184.216.34/hook", "topics": [topic.replace("{pk}", str(hospital.pk))]}
    response = admin_client.post("/api/v1/webhooks/", body, format="json")
    assert response.status_code == status, response.content


def test_the_cancel_body_says_a_falsy_body_counts_as_none(schema):
    body = schema["paths"]["/api/v1/appointments/{id}/cancel/"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == BODIES[("/api/v1/appointments/{id}/cancel/", "post")]


@pytest.mark.parametrize("body", ["null", "false", "0", '""', "[]", "{}"])
def test_a_falsy_cancel_body_is_no_body(admin_client, body):
    from appointments.tests.factories import AppointmentFactory

    appointment = AppointmentFactory()
    response = admin_client.post(
        f"/api/v1/appointments/{appointment.pk}/cancel/?reason=Ill", body, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["cancel_reason"] == "Ill"


NEW_ACCOUNT = {
    "username": "newstaff",
    "fullname": "New Staff",
    "email": "newstaff@example.org",
    "password": "Str0ng-Pass!word-91",
}


def test_a_new_accounts_body_carries_the_create_rules(schema):
    body = schema["paths"]["/api/v1/users/"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == BODIES[("/api/v1/users/", "post")]
    rules = body["allOf"][1]
    assert "doctor" not in rules["properties"]["role"]["enum"]
    assert rules["required"] == ["password"]


@pytest.mark.parametrize(
    ("extra", "status"),
    [
        ({"role": "doctor"}, 400),  # outside the create's role enum
        ({"role": "ambulance_driver"}, 400),  # staff without hospital_id: the anyOf's second branch unmet
        ({"role": "ambulance_driver", "hospital_id": None}, 400),
        ({"password": None}, 400),
        ({"role": "donor", "hospital_id": "HOSPITAL"}, 400),  # the anyOf's first branch: no hospital
        ({"role": "ambulance_driver", "hospital_id": "HOSPITAL"}, 201),
        ({"role": "donor"}, 201),
    ],
)
def test_a_new_account_answers_as_its_create_rules_say(admin_client, hospital, extra, status):
    body = {**NEW_ACCOUNT, **extra}
    if body.get("hospital_id") == "HOSPITAL":
        body["hospital_id"] = hospital.pk
    if body.get("password") is None:
        body.pop("password")
    response = admin_client.post("/api/v1/users/", body, format="json")
    assert response.status_code == status, response.content


@pytest.mark.parametrize(
    ("place", "status"),
    [({}, 201), ({"latitude": 18.5, "longitude": 73.8}, 201), ({"latitude": 18.5}, 400), ({"longitude": 73.8}, 400)],
)
def test_a_new_ambulance_takes_both_coordinates_or_neither(schema, admin_client, hospital, place, status):
    body = schema["paths"]["/api/v1/ambulances/"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == BODIES[("/api/v1/ambulances/", "post")]
    response = admin_client.post(
        "/api/v1/ambulances/", {"hospital_id": hospital.pk, "vehicle_number": "MH-12-FZ-0001", **place}, format="json"
    )
    assert response.status_code == status, response.content


@pytest.mark.parametrize(("account", "status"), [("user", 201), ("user_id", 201), ("both", 400), ("neither", 400)])
def test_a_new_doctor_takes_a_new_account_or_an_existing_one_not_both(admin_client, hospital, account, status):
    from accounts.tests.factories import UserFactory
    from appointments.tests.test_doctors import doctor_body

    body = doctor_body(hospital)
    existing = {"user_id": UserFactory(role="user").pk}
    body = {
        "user": body,
        "user_id": {**{k: v for k, v in body.items() if k != "user"}, **existing},
        "both": {**body, **existing},
        "neither": {k: v for k, v in body.items() if k != "user"},
    }[account]
    response = admin_client.post("/api/v1/doctors/", body, format="json")
    assert response.status_code == status, response.content


@pytest.mark.parametrize("path", ["/api/v1/appointments/", "/appointment/opd/book/"])
@pytest.mark.parametrize(("given", "status"), [("slot", 201), ("hold", 201), ("both", 201), ("neither", 400)])
def test_a_booking_names_a_slot_or_a_hold(schema, patient, path, given, status):
    """AppointmentCreateInRequest's anyOf: slot_id, hold_id or both (a hold's own slot); neither is a 400."""
    from appointments.tests.factories import HoldFactory, SlotFactory
    from conftest import client_for

    body = schema["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/AppointmentCreateInRequest"}
    hold = HoldFactory(patient=patient)
    ids = {
        "slot": {"slot_id": SlotFactory().pk},
        "hold": {"hold_id": hold.pk},
        "both": {"hold_id": hold.pk, "slot_id": hold.slot_id},
        "neither": {},
    }[given]
    response = client_for(patient).post(path, {**ids, "reason": "Fuzz"}, format="json")
    assert response.status_code == status, response.content
    if status == 400:
        assert response.json()["errors"][0]["attr"] == "slot_id"


# Bodies with a field required in every alternative of their rule (COMPONENTS' anyOf or oneOf), whose
# serializers have no required field of their own: the operation says the body is required.
REQUIRED_BODIES = [
    ("/api/v1/appointments/", "post"),
    ("/appointment/opd/book/", "post"),
    ("/api/v1/beds/{id}/admit/", "post"),
]


@pytest.mark.parametrize(("path", "method"), REQUIRED_BODIES)
def test_a_body_its_rule_requires_a_field_of_is_required(schema, path, method):
    assert schema["paths"][path][method]["requestBody"]["required"] is True


@pytest.mark.parametrize("path", ["/api/v1/appointments/", "/appointment/opd/book/"])
@pytest.mark.parametrize("body", [None, {}])
def test_a_booking_without_a_body_is_refused_as_the_schema_says(patient, path, body):
    """No body is read as {}: a 400 on slot_id (required), as for an empty object, and nothing is booked."""
    from appointments.models import Appointment
    from conftest import client_for

    response = client_for(patient).post(path, body, format=None if body is None else "json")
    assert response.status_code == 400, response.content
    assert [(e["code"], e["attr"]) for e in response.json()["errors"]] == [("required", "slot_id")]
    assert not Appointment.objects.exists()


@pytest.mark.parametrize("body", [None, {}])
def test_an_admission_without_a_body_is_refused_as_the_schema_says(admin_client, hospital, body):
    from hospitals.tests.factories import BedFactory, WardFactory

    bed = BedFactory(ward=WardFactory(hospital=hospital))
    response = admin_client.post(f"/api/v1/beds/{bed.pk}/admit/", body, format=None if body is None else "json")
    assert response.status_code == 400, response.content
    bed.refresh_from_db()
    assert bed.status == "available"


@pytest.mark.parametrize(
    "topics",
    [[" "], ["", ""], ["\t", " "], ["hospital.{pk}.beds"], ["", "hospital.{pk}.beds "], ["\t", " hospital.{pk}.beds"]],
)
def test_a_stream_tickets_topics_are_not_all_blank(schema, admin_client, hospital, topics):
    """Blank names are skipped (one may stand beside a topic), a list of blanks alone is a 400: the schema's
    `not` every item blank says so (OpenAPI 3.0 has no `contains`)."""
    import jsonschema

    field = schema["components"]["schemas"]["StreamTicketRequestRequest"]["properties"]["topics"]
    names = [topic.replace("{pk}", str(hospital.pk)) for topic in topics]
    valid = jsonschema.Draft4Validator(field).is_valid(names)
    response = admin_client.post("/api/v1/events/tickets/", {"topics": names}, format="json")
    assert (response.status_code == 201) is valid, response.content
    if not valid:
        assert response.status_code == 400, response.content
        assert response.json()["errors"][0]["code"] == "invalid_topics"


@pytest.mark.parametrize(
    ("fee", "status"), [(0.57, 200), (1234.5, 200), (999999.99, 200), (1000000, 200), (0.001, 400), (12.345, 400)]
)
def test_a_doctors_fee_is_a_multiple_of_a_hundredth(schema, admin_client, fee, status):
    """Doctor.consultation_fee has two decimal places: the schema's multipleOf 0.01 is the serializer's rule."""
    from appointments.tests.factories import DoctorFactory

    for component in ("DoctorCreateInRequest", "DoctorUpdateInRequest", "PatchedDoctorUpdateInRequest"):
        assert schema["components"]["schemas"][component]["properties"]["consultation_fee"]["multipleOf"] == 0.01
    doctor = DoctorFactory()
    response = admin_client.patch(f"/api/v1/doctors/{doctor.pk}/", {"consultation_fee": fee}, format="json")
    assert response.status_code == status, response.content
