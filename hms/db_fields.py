"""Model declarations every app repeats, given one home. Plumbing: imports no app of ours, and
declares no model (hms.api.roles is imported before the app registry is ready); the abstract models
(`Timestamped`, `TrailEntry`, `SingleRow`) are in hms/models.py.

- `user_reference()`: a nullable reference to a user with no reverse accessor (who booked, decided,
  recorded...); deleting the user is refused while it is referenced.
- `text_choices()`: a `TextChoices` declared from its values in one line.
- `transitions()`: a status machine's table, every status a key (the ones left out are final).

None of them changes the database: the fields deconstruct as the ones they replace, and the enums
are the enums a class statement would make (same member names, values, labels, module and qualified
name), so migrations, `.choices`, pickling and the OpenAPI enums stay as they were.
"""

import sys
from collections.abc import Iterable

from django.conf import settings
from django.db import models


def user_reference(**overrides) -> models.ForeignKey:
    """`ForeignKey(AUTH_USER_MODEL, null=True, blank=True, on_delete=PROTECT, related_name="+")`,
    with `overrides` (e.g. `db_index=False`) on top."""
    options = {"null": True, "blank": True, "on_delete": models.PROTECT, "related_name": "+", **overrides}
    return models.ForeignKey(settings.AUTH_USER_MODEL, **options)


def text_choices(
    name: str, values: str | Iterable[str], *, labels: dict[str, str] | None = None
) -> type[models.TextChoices]:
    """The `TextChoices` named `name` whose values are `values` (a space-separated string or an
    iterable), in that order, each member named by its value upper-cased:

        Status = text_choices("Status", "booked checked_in")

    is `class Status(models.TextChoices): BOOKED = "booked"; CHECKED_IN = "checked_in"`, labels
    included: Django's own ("Checked In", from the member name) unless `labels` gives one by value.
    The enum takes its module and qualified name (`Appointment.Status` in a class body) from where
    it is declared, as a class statement would, so it pickles and reads the same.
    """
    labels = labels or {}
    members = values.split() if isinstance(values, str) else list(values)
    unknown = set(labels) - set(members)
    if unknown:
        raise ValueError(f"{name} has no values {sorted(unknown)} to label.")
    caller = sys._getframe(1)
    outer = caller.f_code.co_qualname
    return models.TextChoices(
        name,
        [(value.upper(), (value, labels[value]) if value in labels else value) for value in members],
        module=caller.f_globals["__name__"],
        qualname=name if outer == "<module>" else f"{outer}.{name}",
    )


def transitions(statuses: Iterable[str], moves: dict[str, set[str]]) -> dict[str, set[str]]:
    """The table of a status machine: each of `statuses` (in their order) mapped to the statuses it may
    move to, as `moves` gives them; a status `moves` leaves out is final (moves nowhere). Every status
    is a key, so `table[status]` answers for any row's status."""
    unknown = set(moves) - set(statuses)
    if unknown:
        raise ValueError(f"Moves from statuses that do not exist: {sorted(unknown)}")
    return {status: set(moves.get(status, ())) for status in statuses}
