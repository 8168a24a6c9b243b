"""hms.api.urlcache: a path is resolved once per process, and each path still reaches its own view and ids."""

from django.urls import get_resolver

from conftest import client_for
from hms.api.urlcache import keep_resolutions


def test_a_path_is_resolved_once_and_ids_stay_apart(db, hospital, other_hospital, admin_user):
    # hms.apps installs it at start-up; a test that changed ROOT_URLCONF earlier in this process left a
    # new resolver (Django's clear_url_caches), so it is installed again here.
    keep_resolutions()
    keep_resolutions()  # twice: wrapped once
    resolve = get_resolver().resolve
    assert not hasattr(resolve.__wrapped__, "cache_info")
    assert resolve.cache_info().maxsize == 4096
    client = client_for(admin_user)
    first = client.get(f"/api/v1/hospitals/{hospital.pk}")
    hits = resolve.cache_info().hits
    again = client.get(f"/api/v1/hospitals/{hospital.pk}")
    assert resolve.cache_info().hits == hits + 1
    other = client.get(f"/api/v1/hospitals/{other_hospital.pk}")
    assert first.json()["id"] == again.json()["id"] == hospital.pk
    assert other.json()["id"] == other_hospital.pk
    assert client.get("/api/v1/no-such-thing").status_code == 404
    assert client.get("/api/v1/no-such-thing").status_code == 404  # not kept: resolved (and refused) again
