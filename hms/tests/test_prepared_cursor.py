"""hms.api.db.prepared_cursor: statements bound on the server, their placeholders converted once per
process whatever their length (psycopg caches only statements under 4 KB)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from psycopg import _queries

from hms.api import db

pytestmark = pytest.mark.django_db

# A statement well over psycopg's cached length, with named and repeated parameters.
LONG_SQL = "SELECT %(a)s::int + %(b)s::int AS total, %(a)s::int AS a" + " " * 5000 + ", 'x' || %(c)s::text AS c"


def test_a_long_statement_is_converted_once_and_answers_with_its_parameters(monkeypatch):
    assert len(LONG_SQL.encode()) > _queries.MAX_CACHED_STATEMENT_LENGTH
    db._converted.cache_clear()
    conversions = []
    original = db._converted.__wrapped__

    def counting(query, encoding):
        conversions.append(query)
        return original(query, encoding)

    monkeypatch.setattr(db, "_converted", db.functools.lru_cache(maxsize=8)(counting))
    for a, b, c in ((1, 2, "y"), (40, 2, "z"), (-5, 5, "")):
        with db.prepared_cursor() as cursor:
            cursor.execute(LONG_SQL, {"a": a, "b": b, "c": c})
            assert cursor.fetchone() == (a + b, a, "x" + c)
    assert len(conversions) == 1


def test_statements_are_counted_and_logged_like_any_query():
    with CaptureQueriesContext(connection) as captured, db.prepared_cursor() as cursor:
        cursor.execute("SELECT %(n)s::int", {"n": 7})
        assert cursor.fetchone() == (7,)
    assert [query["sql"] for query in captured.captured_queries] == ["SELECT %(n)s::int"]


def test_positional_parameters_and_statements_without_parameters_still_run():
    with db.prepared_cursor() as cursor:
        cursor.execute("SELECT %s::int * %s::int" + " " * 5000, [6, 7])
        assert cursor.fetchone() == (42,)
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
