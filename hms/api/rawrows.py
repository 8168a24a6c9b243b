"""Rows of one model read by a hand-written statement, converted as the ORM converts them, and written as
a serializer writes them, for the hottest reads (where building the query and the per-field serializer
machinery cost more than the database).

`ModelRows(Model, ["id", "name", ...])` names the columns once: `select_list(connection)` gives
`"table"."column", ...` for a statement, `convert(connection, row)` the Python values the ORM would give
(SQLite answers booleans as integers and datetimes as text), and `represent(serializer_class, values)`
the dict the serializer's fields give for them (`None` stays `None`, as DRF writes it). Plumbing:
imports no app.
"""

from functools import cached_property

from django.db import connections, router


class ModelRows:
    def __init__(self, model, field_names: list[str]):
        self.model = model
        self.field_names = list(field_names)
        self._converters: dict[str, list] = {}
        self._page_sql: dict[tuple[str, str | None], str] = {}

    @cached_property
    def fields(self) -> list:
        return [self.model._meta.get_field(name) for name in self.field_names]

    def select_list(self, connection) -> str:
        quote = connection.ops.quote_name
        table = quote(self.model._meta.db_table)
        return ", ".join(f"{table}.{quote(field.column)}" for field in self.fields)

    def convert(self, connection, values) -> list:
        converters = self._converters.get(connection.alias)
        if converters is None:
            converters = []
            for field in self.fields:
                column = field.get_col(self.model._meta.db_table)
                functions = (*connection.ops.get_db_converters(column), *column.get_db_converters(connection))
                converters.append((functions, column))
            self._converters[connection.alias] = converters
        converted = []
        for value, (functions, column) in zip(values, converters, strict=True):
            for function in functions:
                value = function(value, column, connection)
            converted.append(value)
        return converted

    def page(self, *, true_field: str | None, limit: int, offset: int) -> tuple[int | None, list[list]]:
        """`(count, rows)`: the converted rows of one page by primary key, where `true_field` (a boolean
        field, when given) is true, with the count of every such row beside them (a window: one query).
        `count` is None when the page holds no row."""
        meta = self.model._meta
        connection = connections[router.db_for_read(self.model)]
        key = (connection.alias, true_field)
        sql = self._page_sql.get(key)
        if sql is None:
            quote = connection.ops.quote_name
            table = quote(meta.db_table)
            where = f" WHERE {table}.{quote(meta.get_field(true_field).column)}" if true_field else ""
            sql = self._page_sql[key] = (
                f"SELECT {self.select_list(connection)}, COUNT(*) OVER () FROM {table}{where} "  # noqa: S608 - names from _meta
                f"ORDER BY {table}.{quote(meta.pk.column)} LIMIT %s OFFSET %s"
            )
        with connection.cursor() as cursor:
            cursor.execute(sql, [limit, offset])
            found = cursor.fetchall()
        if not found:
            return None, []
        return found[0][-1], [self.convert(connection, row[:-1]) for row in found]

    def instance(self, connection, values):
        """The model instance of a row's values (all of `field_names`, converted here)."""
        return self.model.from_db(
            connection.alias, [field.attname for field in self.fields], self.convert(connection, values)
        )


class Representation:
    """`serializer_class`'s output for plain values: its fields' `to_representation`, without a serializer
    per row. For flat serializers whose fields each read one attribute (`names`, the values' order);
    `constants` gives the others (e.g. `distance_km: None`). Keys in the serializer's order."""

    def __init__(self, serializer_class, names: list[str], constants: dict | None = None):
        self.serializer_class, self.names, self.constants = serializer_class, list(names), dict(constants or {})

    @cached_property
    def _plan(self) -> list:
        position = {name: index for index, name in enumerate(self.names)}
        plan = []
        for name, field in self.serializer_class().fields.items():
            if name in self.constants:
                plan.append((name, None, self.constants[name]))
            else:
                plan.append((name, position[name], field.to_representation))
        return plan

    def __call__(self, values) -> dict:
        out = {}
        for name, index, write in self._plan:
            if index is None:
                out[name] = write
            else:
                value = values[index]
                out[name] = None if value is None else write(value)
        return out


PAGE_PARAMETERS = frozenset({"page", "page_size"})


def plain_page(view, request) -> tuple[int, int] | None:
    """`(page number, page size)` when a list request asks for a page and nothing else (no filter, search,
    ordering or format), checked as the paginator checks them (a malformed one is its 400); None
    otherwise, or for a page that cannot hold rows (the paginator's own 404 then answers)."""
    if not PAGE_PARAMETERS.issuperset(request.query_params):
        return None
    paginator = view.paginator
    size = paginator.get_page_size(request)
    number = paginator.get_page_number(request, None)
    if number < 1 or number * size >= 2**62:
        return None
    return number, size


def page_response(view, request, *, number: int, count: int, results: list):
    """The paginator's body (`count`, `next`, `previous`, `results`) for rows read by hand."""
    return view.paginator.response_from_entry({"count": count, "number": number, "results": results}, request)
