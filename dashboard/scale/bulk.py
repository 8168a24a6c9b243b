"""Fast inserts for benchmark data: bulk_create with keys, COPY on PostgreSQL, weighted choices."""

import random

from django.db import connection


def weighted(rng: random.Random, weights) -> str:
    values, shares = zip(*weights, strict=True)
    return rng.choices(values, weights=shares)[0]


def bulk(model, objects: list, batch_size: int = 2000) -> list:
    """bulk_create that returns the objects with their primary keys (PostgreSQL and SQLite both)."""
    return model.objects.bulk_create(objects, batch_size=batch_size)


def copy_rows(model, fields: list[str], rows: list[tuple], batch_size: int = 5000) -> None:
    """Insert plain tuples fast: COPY on PostgreSQL, bulk_create in batches elsewhere."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        quote = connection.ops.quote_name
        columns = ", ".join(quote(model._meta.get_field(name).column) for name in fields)
        statement = f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN"
        with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
        return
    attnames = [model._meta.get_field(name).attname for name in fields]
    objects = [model(**dict(zip(attnames, row, strict=True))) for row in rows]
    for start in range(0, len(objects), batch_size):
        model.objects.bulk_create(objects[start : start + batch_size])
