"""Which donor blood groups a recipient may receive, per component (API.md section 7). Pure: no Django.

- Packed red cells and platelets: the red-cell rules (ABO: O gives to all, A and B to themselves and
  AB; Rh: a negative recipient takes only Rh-negative, a positive one either).
- Whole blood carries the donor's plasma too, so it must be ABO-identical, with the red-cell Rh rule.
- Plasma and cryoprecipitate: ABO reversed (AB plasma is the universal one), Rh does not matter.
"""

GROUPS = ("O-", "O+", "A-", "A+", "B-", "B+", "AB-", "AB+")

WHOLE_BLOOD = "whole_blood"
PACKED_RED_CELLS = "packed_red_cells"
PLATELETS = "platelets"
PLASMA = "plasma"
CRYOPRECIPITATE = "cryoprecipitate"
COMPONENTS = (WHOLE_BLOOD, PACKED_RED_CELLS, PLATELETS, PLASMA, CRYOPRECIPITATE)

# Days a unit keeps from collection (the default expiry of a stock lot).
SHELF_LIFE_DAYS = {
    WHOLE_BLOOD: 35,
    PACKED_RED_CELLS: 42,
    PLATELETS: 5,
    PLASMA: 365,
    CRYOPRECIPITATE: 365,
}

# recipient -> donors, written out as the contract states them (not derived), so a test can check
# every pair against the table a clinician would read.
RED_CELL_DONORS = {
    "O-": ("O-",),
    "O+": ("O+", "O-"),
    "A-": ("A-", "O-"),
    "A+": ("A+", "A-", "O+", "O-"),
    "B-": ("B-", "O-"),
    "B+": ("B+", "B-", "O+", "O-"),
    "AB-": ("AB-", "A-", "B-", "O-"),
    "AB+": ("AB+", "AB-", "A+", "A-", "B+", "B-", "O+", "O-"),
}

WHOLE_BLOOD_DONORS = {
    "O-": ("O-",),
    "O+": ("O+", "O-"),
    "A-": ("A-",),
    "A+": ("A+", "A-"),
    "B-": ("B-",),
    "B+": ("B+", "B-"),
    "AB-": ("AB-",),
    "AB+": ("AB+", "AB-"),
}

# Plasma by ABO only, reversed (O takes any plasma, A takes A and AB, B takes B and AB, AB only AB);
# Rh does not matter. Own group first, then the same ABO with the other Rh, then the rest.
PLASMA_DONORS = {
    "O-": ("O-", "O+", "A-", "A+", "B-", "B+", "AB-", "AB+"),
    "O+": ("O+", "O-", "A-", "A+", "B-", "B+", "AB-", "AB+"),
    "A-": ("A-", "A+", "AB-", "AB+"),
    "A+": ("A+", "A-", "AB-", "AB+"),
    "B-": ("B-", "B+", "AB-", "AB+"),
    "B+": ("B+", "B-", "AB-", "AB+"),
    "AB-": ("AB-", "AB+"),
    "AB+": ("AB+", "AB-"),
}

DONORS_BY_COMPONENT = {
    WHOLE_BLOOD: WHOLE_BLOOD_DONORS,
    PACKED_RED_CELLS: RED_CELL_DONORS,
    PLATELETS: RED_CELL_DONORS,
    PLASMA: PLASMA_DONORS,
    CRYOPRECIPITATE: PLASMA_DONORS,
}


def compatible_donors(*, recipient: str, component: str) -> tuple[str, ...]:
    """Donor groups a recipient may receive for this component: the recipient's own group first.

    Allocation takes the own group first, then the others together by earliest expiry; the order
    of the others here only breaks ties (closest match first). Unknown group or component
    -> KeyError.
    """
    return DONORS_BY_COMPONENT[component][recipient]


def is_compatible(*, recipient: str, donor: str, component: str) -> bool:
    return donor in compatible_donors(recipient=recipient, component=component)
