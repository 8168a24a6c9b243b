"""hms.api.compiled.KeptShapes: compiled rows kept per shape and run again with a later value (the pk of
a scoped lookup, the instant of a FHIR search), only when compiling for another value changed nothing
but that value's parameters."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from accounts.tests.factories import UserFactory
from hms.api.compiled import UNSTABLE, KeptShape, KeptShapes

pytestmark = pytest.mark.django_db


def _by_pk(pk):
    return User.objects.filter(pk=pk).order_by().values("id", "username")


def _instant(rows, value):
    return connection.ops.adapt_datetimefield_value(value)


def test_a_stable_shape_is_kept_and_bound_to_each_value():
    first, second = UserFactory(), UserFactory()
    shapes = KeptShapes()
    rows = shapes.compile("key", _by_pk, first.pk, first.pk + 1, needs_value=True)
    assert rows.first(rows.params) == {"id": first.pk, "username": first.username}
    shape = shapes.get("key")
    assert isinstance(shape, KeptShape) and shape.rows is rows and shape.at
    with CaptureQueriesContext(connection) as captured:
        assert shape.rows.first(shape.params_for(second.pk)) == {"id": second.pk, "username": second.username}
        assert shape.bound(second.pk).first(shape.bound(second.pk).params)["id"] == second.pk
    assert len(captured.captured_queries) == 2


def test_sql_that_embeds_more_than_the_value_is_unstable_and_compiled_every_time():
    user = UserFactory()
    built = []

    def unstable(pk):
        built.append(pk)
        return _by_pk(pk).exclude(username=f"name {pk}")

    shapes = KeptShapes()
    for _ in range(2):
        rows = shapes.compile("key", unstable, user.pk, user.pk + 1)
        assert rows.first(rows.params)["id"] == user.pk
    assert shapes.kept == {"key": UNSTABLE} and shapes.get("key") is None
    assert built == [user.pk, user.pk + 1, user.pk]  # the partner is compiled once, to find out


def test_a_shape_whose_parameters_do_not_hold_a_needed_value_is_unstable():
    shapes = KeptShapes()
    shapes.compile("key", lambda pk: User.objects.filter(is_active=True).values("id"), 1, 2, needs_value=True)
    assert shapes.kept["key"] is UNSTABLE
    # Without needs_value the same SQL is reused as it is (nothing to bind).
    shapes.compile("other", lambda pk: User.objects.filter(is_active=True).values("id"), 1, 2)
    assert shapes.get("other").at == ()


def test_an_empty_queryset_is_kept_and_runs_no_query():
    shapes = KeptShapes()
    rows = shapes.compile("key", lambda pk: User.objects.none().values("id"), 1, 2, needs_value=True)
    shape = shapes.get("key")
    with CaptureQueriesContext(connection) as captured:
        assert rows.first(rows.params) is None and shape.rows.first(shape.params_for(5)) is None
    assert captured.captured_queries == []


def test_values_are_compared_as_the_database_takes_them_and_extra_is_kept():
    user = UserFactory()
    now = timezone.now()
    shapes = KeptShapes()

    def joined_before(moment):
        return User.objects.filter(date_joined__lte=moment).order_by("id").values("id")

    shapes.compile("key", joined_before, now, now - datetime.timedelta(seconds=1), adapt=_instant, extra=lambda: "z")
    shape = shapes.get("key")
    assert shape.extra == "z" and len(shape.at) == 1
    earlier = shape.bound(_instant(None, user.date_joined - datetime.timedelta(days=1)))
    assert earlier.page(0, 10) == []
    assert shape.bound(_instant(None, now)).page(0, 10) == [{"id": user.pk}]


def test_the_cap_forgets_every_kept_shape_at_once():
    shapes = KeptShapes(limit=2)
    for key in ("a", "b", "c"):
        shapes.compile(key, _by_pk, 1, 2, needs_value=True)
    assert list(shapes.kept) == ["c"]


def test_a_subclass_of_shape_is_what_the_keeper_keeps():
    class Named(KeptShape):
        pass

    shapes = KeptShapes(shape=Named)
    shapes.compile("key", _by_pk, 1, 2, needs_value=True)
    assert type(shapes.get("key")) is Named
