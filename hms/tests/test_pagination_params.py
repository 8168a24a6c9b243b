"""`page` and `page_size` are integers given at most once: an empty, repeated or non-numeric value
is a 400 in the error shape (code `invalid`, the parameter named), like any bad filter value; a page
past the end is a 404 (issue 22: schemathesis found `?page=` and `?page=false&page=false&page=`
answering 200)."""

import pytest

from accounts.tests.factories import HospitalFactory
from accounts.tests.utils import assert_error

pytestmark = pytest.mark.django_db

LISTS = ["/api/v1/admissions", "/api/v1/emergencies", "/api/v1/hospitals", "/api/v1/users"]
BAD_PAGES = [
    "page=",
    "page=false&page=false&page=",
    "page=1&page=1",
    "page=1&page=2",
    "page=false",
    "page=abc",
    "page=1.5",
    "page=-1",
    "page=+1",
    "page=%201",
    "page=1e3",
    "page=last",
    "page=%EF%BC%91",  # a full-width "1"
]
BAD_PAGE_SIZES = [
    "page_size=",
    "page_size=10&page_size=10",
    "page_size=10&page_size=",
    "page_size=0",
    "page_size=-5",
    "page_size=ten",
    "page_size=2.0",
]


@pytest.mark.parametrize("path", LISTS)
def test_empty_repeated_or_non_integer_page_is_400_naming_page(admin_client, path):
    for query in BAD_PAGES:
        response = admin_client.get(f"{path}?{query}")
        assert_error(response, 400, code="invalid", attr="page")


@pytest.mark.parametrize("path", LISTS)
def test_empty_repeated_or_non_positive_page_size_is_400_naming_page_size(admin_client, path):
    for query in BAD_PAGE_SIZES:
        response = admin_client.get(f"{path}?{query}")
        assert_error(response, 400, code="invalid", attr="page_size")


def test_good_page_and_page_size_still_page_through_the_list(api):
    for _ in range(5):
        HospitalFactory()
    first = api.get("/api/v1/hospitals?page_size=2")
    assert first.status_code == 200 and first.json()["count"] == 5 and len(first.json()["results"]) == 2
    assert "page=2" in first.json()["next"]
    third = api.get("/api/v1/hospitals?page_size=2&page=3")
    assert third.status_code == 200 and len(third.json()["results"]) == 1 and third.json()["next"] is None
    assert api.get("/api/v1/hospitals?page=01&page_size=2").json()["results"] == first.json()["results"]
    assert len(api.get("/api/v1/hospitals?page_size=100000").json()["results"]) == 5  # capped at 100


@pytest.mark.parametrize("query", ["page=0", "page=99999", "page=" + "9" * 5000, "page_size=2&page=4"])
def test_page_past_the_end_is_404(api, query):
    for _ in range(5):
        HospitalFactory()
    assert_error(api.get(f"/api/v1/hospitals?{query}"), 404)


def test_a_huge_page_size_is_capped_not_a_server_error(api):
    HospitalFactory()
    response = api.get("/api/v1/hospitals?page_size=" + "9" * 5000)
    assert response.status_code == 200 and response.json()["count"] == 1


def test_bad_page_on_a_list_kept_on_the_read_cache_is_400_every_time(api, settings):
    settings.READ_CACHE_SECONDS = 30
    HospitalFactory()
    for _ in range(2):
        assert_error(api.get("/api/v1/hospitals?page="), 400, code="invalid", attr="page")
        assert_error(api.get("/api/v1/hospitals?page_size=5&page_size=5"), 400, code="invalid", attr="page_size")
    assert api.get("/api/v1/hospitals?page=1").status_code == 200
