"""A record's id in a path is ASCII digits (hms.api.routers.ID_PATTERN): a padded or signed id names no
record (found by the schema-driven fuzzer: GET /api/v1/blood-requests/%093/ answered the request 3)."""

import pytest

from hms.api.routers import ID_PATTERN


@pytest.mark.django_db
@pytest.mark.parametrize("path_id", ["%09{id}", "{id}%09", "%20{id}", "+{id}", "0{id}x", "{id}.0", "%D9%A1"])
def test_an_id_that_is_not_plain_digits_is_a_404_in_the_error_shape(admin_client, hospital, path_id):
    assert admin_client.get(f"/api/v1/hospitals/{hospital.pk}/").status_code == 200
    response = admin_client.get(f"/api/v1/hospitals/{path_id.format(id=hospital.pk)}/")
    assert response.status_code == 404
    assert response.json()["type"] == "client_error"
    assert response.json()["errors"][0]["code"] == "not_found"


@pytest.mark.django_db
def test_leading_zeros_and_the_largest_ids_still_route(admin_client, hospital):
    assert admin_client.get(f"/api/v1/hospitals/000{hospital.pk}/").status_code == 200
    assert admin_client.get("/api/v1/hospitals/9223372036854775807/").status_code == 404
    assert admin_client.get("/api/v1/hospitals/99999999999999999999/").status_code == 404  # 20 digits


def test_no_route_takes_the_catch_all_id():
    from django.urls import get_resolver

    routes = list(_all_patterns(get_resolver()))
    assert any(f"(?P<pk>{ID_PATTERN})" in route for route in routes)
    assert [route for route in routes if "[^/.]+" in route] == []


def _all_patterns(resolver, prefix=""):
    for entry in resolver.url_patterns:
        text = prefix + str(entry.pattern)
        if hasattr(entry, "url_patterns"):
            yield from _all_patterns(entry, text)
        else:
            yield text
