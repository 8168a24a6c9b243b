"""OpenAPI links (hms/api/schema_links.py): each one names a real operation and real parameters, the
chains a client follows are there, and following one through the API reaches the record it names."""

import re

import pytest

METHODS = ("get", "post", "put", "patch", "delete")


def operations(schema):
    for path, item in schema["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def links(schema):
    for path, method, operation in operations(schema):
        for status, response in operation["responses"].items():
            for link in response.get("links", {}).values():
                yield path, method, status, link


def request_properties(schema, operation):
    body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
    properties = {}
    for part in [body, *body.get("allOf", [])]:  # a body with rules beside its component (schema_constraints)
        if "$ref" in part:
            part = schema["components"]["schemas"][part["$ref"].rsplit("/", 1)[-1]]
        properties.update(part.get("properties", {}))
    return properties


def test_every_link_names_an_operation_and_its_parameters(schema):
    by_id = {op["operationId"]: (path, op) for path, _method, op in operations(schema)}
    found = list(links(schema))
    assert len(found) > 100
    for path, method, status, link in found:
        target_path, target = by_id[link["operationId"]]  # KeyError: a link to nothing
        path_params = set(re.findall(r"\{([^}]+)\}", target_path))
        assert set(link.get("parameters", {})) == path_params, (method, path, status, link)
        for expression in link.get("parameters", {}).values():
            name = expression.removeprefix("$request.path.")
            assert expression.startswith("$response.body#/") or name in re.findall(r"\{([^}]+)\}", path)
        assert set(link.get("requestBody", {})) <= set(request_properties(schema, target)), link


@pytest.mark.parametrize(
    ("source", "target", "how"),
    [
        ("post /api/v1/slots/", "api_v1_slots_hold_create", {"parameters": {"id": "$response.body#/id"}}),
        ("post /api/v1/slots/", "api_v1_appointments_create", {"requestBody": {"slot_id": "$response.body#/id"}}),
        ("post /api/v1/slots/{id}/hold/", "api_v1_holds_destroy", {"parameters": {"id": "$response.body#/id"}}),
        (
            "post /api/v1/slots/{id}/hold/",
            "api_v1_appointments_create",
            {"requestBody": {"hold_id": "$response.body#/id"}},
        ),
        ("post /api/v1/wards/", "api_v1_beds_create", {"requestBody": {"ward_id": "$response.body#/id"}}),
        ("post /api/v1/beds/", "api_v1_beds_admit_create", {"parameters": {"id": "$response.body#/id"}}),
        (
            "post /bloodbank/request/",
            "api_v1_blood_requests_approve_create",
            {"parameters": {"id": "$response.body#/id"}},
        ),
        (
            "post /api/v1/doctors/{doctor_id}/leaves/",
            "api_v1_doctors_leaves_destroy",
            {"parameters": {"doctor_id": "$request.path.doctor_id", "id": "$response.body#/id"}},
        ),
        (
            "get /api/v1/notifications/",
            "api_v1_notifications_read_create",
            {"parameters": {"id": "$response.body#/results/0/id"}},
        ),
        ("get /hospital/all/", "hospital_floors_list", {"parameters": {"id": "$response.body#/results/0/id"}}),
    ],
)
def test_the_chains_a_client_follows_are_linked(schema, source, target, how):
    method, path = source.split(" ")
    status = "201" if method == "post" else "200"
    link = schema["paths"][path][method]["responses"][status]["links"][target]
    assert link == {"operationId": target, **how}


def test_a_list_never_links_to_editing_or_deactivating_its_first_row(schema):
    by_id = {op["operationId"]: method for _path, method, op in operations(schema)}
    for _path, method, status, link in links(schema):
        if method == "get":
            assert by_id[link["operationId"]] in ("get", "post"), link


@pytest.mark.django_db
def test_following_a_created_hospitals_links_reaches_it(schema, admin_client):
    body = {"name": "Linked General", "registration_number": "LINK-1", "city": "Pune", "address": "1 Link Road"}
    created = admin_client.post("/api/v1/hospitals", body, format="json")
    assert created.status_code == 201, created.content
    by_id = {op["operationId"]: (path, method) for path, method, op in operations(schema)}
    followed = 0
    for link in schema["paths"]["/api/v1/hospitals/"]["post"]["responses"]["201"]["links"].values():
        path, method = by_id[link["operationId"]]
        if method != "get":
            continue
        url = path.replace("{id}", str(created.json()["id"]))
        answer = admin_client.get(url)
        assert answer.status_code == 200, (url, answer.content)
        followed += 1
    assert followed >= 3  # detail, availability, floors, queue board
