"""hms.api.urlcache: a path is resolved once per process, and each path still reaches its own view and ids."""

import random
import re

import pytest
from django.urls import Resolver404, ResolverMatch, get_resolver
from drf_spectacular.generators import SchemaGenerator

from conftest import client_for
from hms.api.urlcache import ShapeResolver, keep_resolutions


def test_a_path_is_resolved_once_and_ids_stay_apart(db, hospital, other_hospital, admin_user):
    # hms.apps installs it at start-up; a test that changed ROOT_URLCONF earlier in this process left a
    # new resolver (Django's clear_url_caches), so it is installed again here.
    keep_resolutions()
    keep_resolutions()  # twice: wrapped once
    shapes = get_resolver().resolve.__self__
    assert isinstance(shapes, ShapeResolver)
    assert not isinstance(getattr(shapes.django_resolve, "__self__", None), ShapeResolver)
    assert shapes.by_path.cache_info().maxsize == 4096
    client = client_for(admin_user)
    first = client.get("/api/v1/hospitals")
    hits = shapes.by_path.cache_info().hits
    again = client.get("/api/v1/hospitals")
    assert shapes.by_path.cache_info().hits == hits + 1
    assert first.json() == again.json()
    first = client.get(f"/api/v1/hospitals/{hospital.pk}")
    other = client.get(f"/api/v1/hospitals/{other_hospital.pk}")
    assert first.json()["id"] == hospital.pk
    assert other.json()["id"] == other_hospital.pk
    assert client.get("/api/v1/no-such-thing").status_code == 404
    assert client.get("/api/v1/no-such-thing").status_code == 404  # not kept: resolved (and refused) again


def _answer(resolve, path):
    try:
        match = resolve(path)
    except Resolver404:
        return None
    return (match.func, match.args, match.kwargs, match.url_name, match.route, match.namespaces, match.app_names)


def _routes_with_ids() -> list[str]:
    """Every schema path with a path parameter, ids written as `{}` (the FHIR ones by hand)."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = [re.sub(r"\{[^}]+\}", "{}", path) for path in schema["paths"] if "{" in path]
    return [*paths, "/fhir/R4/Slot/{}", "/fhir/R4/Appointment/{}", "/hospital/{}", "/api/v1/slots/{}/hold/"]


def test_a_path_answered_by_its_shape_is_what_django_answers_for_every_route():
    resolve = get_resolver().resolve
    kept = getattr(resolve, "__self__", None)
    django_resolve = kept.django_resolve if isinstance(kept, ShapeResolver) else resolve
    shapes = ShapeResolver(django_resolve)
    rng = random.Random(5)
    routes = _routes_with_ids()
    assert len(routes) > 60
    for route in routes:
        holes = route.count("{}")
        ids = [
            [str(rng.randint(1, 9)) for _ in range(holes)],
            [str(rng.randint(10, 99)) for _ in range(holes)],
            [str(rng.randint(10, 99)) for _ in range(holes)],  # the shape learnt by now: answered by it
            [str(rng.randint(10, 99)) for _ in range(holes)],
            ["0" + str(rng.randint(1, 9)) for _ in range(holes)],  # a leading zero (an int converter drops it)
            ["9" * 19 for _ in range(holes)],
            ["9" * 20 for _ in range(holes)],  # past the lookup's 19 digits: Django's 404
            ["7", "x"][: max(holes, 1)] + ["3"] * (holes - 2),
        ]
        for values in ids:
            path = route.format(*values[:holes]) if holes else route
            assert _answer(shapes.resolve, path) == _answer(django_resolve, path), path
    learnt = [shape for shape, entry in shapes.shapes.items() if entry is not None]
    assert len(learnt) > 60  # most id routes are answered by their shape


def test_a_route_that_takes_some_digits_only_is_not_answered_by_shape():
    # A pattern that accepts some digit strings of a length and not others is never learnt from them.
    calls = []

    def fake(path):
        calls.append(path)
        number = path.split("/")[2]
        if path.startswith("/even/") and int(number) % 2 == 0:
            captured = {"n": number}
            return ResolverMatch(lambda request: None, (), captured, captured_kwargs=captured, route="even/<n>")
        raise Resolver404({"path": path})

    shapes = ShapeResolver(fake)
    assert shapes.resolve("/even/12").kwargs == {"n": "12"}
    with pytest.raises(Resolver404):
        shapes.resolve("/even/13")  # Django's answer, not the shape's
    assert shapes.shapes["/even/#2"] is None


def test_paths_answered_by_shape_are_not_kept_one_by_one():
    # A worker sees ids without end: memory must not grow with them (a soak's RSS did, by the LRU's 4,096
    # ResolverMatch objects). Only the first path of a shape is kept; its shape answers the rest.
    calls = []

    def view(request):
        return None

    def fake(path):
        calls.append(path)
        captured = {"pk": int(path.split("/")[2])}
        return ResolverMatch(view, (), captured, captured_kwargs=captured, extra_kwargs={}, route="beds/<int:pk>")

    shapes = ShapeResolver(fake)
    for pk in range(1000, 6000):
        assert shapes.resolve(f"/beds/{pk}").kwargs == {"pk": pk}
    assert shapes.by_path.cache_info().currsize == 1
    assert len(calls) == 2  # the first path, and the other one its shape was learnt from
    assert list(shapes.shapes) == ["/beds/#4"]
