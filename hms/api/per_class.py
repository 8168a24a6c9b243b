"""What depends on a class alone (a serializer's fields, a filter set's form class), built once."""


def once_per_class(obj, name: str, build):
    """`build()` the first time it is asked for `type(obj)`, then that same value: kept as `name` in the
    class's own `__dict__`, so a subclass builds its own."""
    cls = type(obj)
    value = cls.__dict__.get(name)
    if value is None:
        value = build()
        setattr(cls, name, value)
    return value
