"""hms.pg reads timestamps with psycopg's C loader: the same values, in UTC, as Django's own loader."""

import datetime

import pytest
from django.db import connection, transaction
from django.db.backends.postgresql.psycopg_any import BaseTzLoader
from psycopg.pq import Format

from appointments.models import Slot
from appointments.tests.factories import SlotFactory
from hms.pg.base import CTimestamptzLoader

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the PostgreSQL backend's loader"),
]

MOMENTS = [
    "2026-03-29 00:59:59.999999+00",
    "2026-03-29 01:00:00+00",
    "2026-10-25 01:30:00.5+05:30",
    "1999-12-31 23:59:59-08",
    "2400-02-29 12:00:00.000001+00",
    "0001-01-01 00:00:00+00",
]
SELECT = "SELECT " + ", ".join(f"%s::timestamptz AS m{index}" for index in range(len(MOMENTS)))


def _read(cursor) -> tuple:
    cursor.execute(SELECT, MOMENTS)
    return cursor.fetchone()


def test_the_connection_reads_timestamps_with_the_c_loader():
    connection.ensure_connection()
    assert CTimestamptzLoader is not None
    assert connection.connection.adapters.get_loader(1184, Format.TEXT) is CTimestamptzLoader


def test_the_values_are_djangos_values_in_utc():
    with connection.cursor() as cursor:
        fast = _read(cursor)
    with connection.cursor() as cursor:
        cursor.cursor.adapters.register_loader(
            "timestamptz", type("Django", (BaseTzLoader,), {"timezone": datetime.UTC})
        )
        django_values = _read(cursor)
    assert fast == django_values
    assert all(value.tzinfo is datetime.UTC for value in fast)
    assert fast[0] == datetime.datetime(2026, 3, 29, 0, 59, 59, 999999, tzinfo=datetime.UTC)
    assert fast[2] == datetime.datetime(2026, 10, 24, 20, 0, 0, 500000, tzinfo=datetime.UTC)


def test_a_session_in_another_zone_still_reads_the_right_instants():
    with connection.cursor() as cursor:
        utc = _read(cursor)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL TIME ZONE 'Asia/Kolkata'")
        with connection.cursor() as inner:
            kolkata = _read(inner)
    assert kolkata == utc  # the same instants (aware datetimes compare by instant)
    assert kolkata[1].utcoffset() == datetime.timedelta(hours=5, minutes=30)


def test_the_orm_and_server_side_cursors_read_utc_values():
    slot = SlotFactory()
    Slot.objects.filter(pk=slot.pk).update(start=slot.start.replace(microsecond=123456))
    read = Slot.objects.get(pk=slot.pk).start
    assert read.tzinfo is datetime.UTC and read.microsecond == 123456
    with transaction.atomic():  # a server-side cursor (iterator) inside a transaction
        streamed = list(Slot.objects.filter(pk=slot.pk).values_list("start", flat=True).iterator(chunk_size=1))
    assert streamed == [read] and streamed[0].tzinfo is datetime.UTC
