"""Every recipient/donor pair of every component against the tables of API.md section 7.

The expected matrices are written out by hand (rows: recipient, columns: donor), independent of
the module's own tables, so a wrong entry on either side fails a named case.
"""

import pytest

from bloodbank.compatibility import COMPONENTS, GROUPS, compatible_donors, is_compatible

# The module is pure; the mark is only for the root conftest's autouse fixture (it clears the DB cache).
pytestmark = pytest.mark.django_db

COLUMNS = ("O-", "O+", "A-", "A+", "B-", "B+", "AB-", "AB+")

RED_CELLS = """
O-   x . . . . . . .
O+   x x . . . . . .
A-   x . x . . . . .
A+   x x x x . . . .
B-   x . . . x . . .
B+   x x . . x x . .
AB-  x . x . x . x .
AB+  x x x x x x x x
"""

WHOLE_BLOOD = """
O-   x . . . . . . .
O+   x x . . . . . .
A-   . . x . . . . .
A+   . . x x . . . .
B-   . . . . x . . .
B+   . . . . x x . .
AB-  . . . . . . x .
AB+  . . . . . . x x
"""

PLASMA = """
O-   x x x x x x x x
O+   x x x x x x x x
A-   . . x x . . x x
A+   . . x x . . x x
B-   . . . . x x x x
B+   . . . . x x x x
AB-  . . . . . . x x
AB+  . . . . . . x x
"""

MATRIX_BY_COMPONENT = {
    "packed_red_cells": RED_CELLS,
    "platelets": RED_CELLS,
    "whole_blood": WHOLE_BLOOD,
    "plasma": PLASMA,
    "cryoprecipitate": PLASMA,
}


def _pairs(matrix: str):
    for line in matrix.strip().splitlines():
        recipient, *marks = line.split()
        assert len(marks) == 8
        for donor, mark in zip(COLUMNS, marks, strict=True):
            yield recipient, donor, mark == "x"


CASES = [
    pytest.param(component, recipient, donor, expected, id=f"{component}:{recipient}<-{donor}")
    for component, matrix in MATRIX_BY_COMPONENT.items()
    for recipient, donor, expected in _pairs(matrix)
]


def test_every_component_has_all_64_pairs():
    assert len(CASES) == 64 * len(COMPONENTS)
    assert set(GROUPS) == set(COLUMNS)


@pytest.mark.parametrize(("component", "recipient", "donor", "expected"), CASES)
def test_compatibility_table(component, recipient, donor, expected):
    assert is_compatible(recipient=recipient, donor=donor, component=component) is expected


@pytest.mark.parametrize("component", COMPONENTS)
@pytest.mark.parametrize("recipient", GROUPS)
def test_recipient_own_group_is_always_first_and_listed_once(component, recipient):
    donors = compatible_donors(recipient=recipient, component=component)
    assert donors[0] == recipient
    assert len(donors) == len(set(donors))
