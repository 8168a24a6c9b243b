"""Demo blood banks, stock and a donor account; called by `seed_demo`. Idempotent: run it any day."""

import datetime

from django.db import transaction
from django.utils import timezone

from accounts.models import BloodGroup, User
from bloodbank import compatibility
from bloodbank.models import BloodBank, Component, StockLot

DONOR_USERNAME = "donor"
DONOR_PASSWORD = "Donor-Pass-2026"

# Units per group roughly follow how common each group is; components get a share of that.
_GROUP_UNITS = {"O+": 12, "A+": 10, "B+": 9, "AB+": 4, "O-": 5, "A-": 4, "B-": 3, "AB-": 2}
_COMPONENT_SHARE = {
    Component.WHOLE_BLOOD: 1.0,
    Component.PACKED_RED_CELLS: 1.0,
    Component.PLATELETS: 0.5,
    Component.PLASMA: 0.75,
    Component.CRYOPRECIPITATE: 0.25,
}
_COMPONENT_CODE = {
    Component.WHOLE_BLOOD: "WB",
    Component.PACKED_RED_CELLS: "PRC",
    Component.PLATELETS: "PLT",
    Component.PLASMA: "FFP",
    Component.CRYOPRECIPITATE: "CRY",
}
_GROUP_CODE = {"A+": "AP", "A-": "AN", "B+": "BP", "B-": "BN", "AB+": "ABP", "AB-": "ABN", "O+": "OP", "O-": "ON"}


def _write(stdout, line: str) -> None:
    if stdout is not None:
        stdout.write(line + "\n")  # a management command's OutputWrapper adds no second newline


def _bank_for_hospital(hospital) -> tuple[BloodBank, bool]:
    return BloodBank.objects.get_or_create(
        license_number=f"BB-{hospital.registration_number}"[:64],
        defaults={
            "name": f"{hospital.name} Blood Bank"[:200],
            "hospital": hospital,
            "address": hospital.address,
            "city": hospital.city,
            "latitude": hospital.latitude,
            "longitude": hospital.longitude,
            "phone": hospital.phone,
            "email": hospital.email,
        },
    )


def _independent_bank(hospitals) -> tuple[BloodBank, bool]:
    anchor = hospitals[0] if hospitals else None
    latitude = anchor.latitude + 0.02 if anchor is not None and anchor.latitude is not None else 18.53
    longitude = anchor.longitude + 0.02 if anchor is not None and anchor.longitude is not None else 73.86
    return BloodBank.objects.get_or_create(
        license_number="BB-DEMO-INDEPENDENT",
        defaults={
            "name": "City Blood Centre",
            "address": "12 Station Road",
            "city": (anchor.city if anchor is not None and anchor.city else "Pune"),
            "latitude": latitude,
            "longitude": longitude,
            "phone": "+91-20-5550-0100",
            "email": "contact@cityblood.example",
        },
    )


def _stock(bank: BloodBank, today: datetime.date) -> int:
    """Two lots per group and component (an older and a fresher one, so FEFO shows); returns lots created.

    A demo lot that has expired or been used up since an earlier run is restocked in place, as long
    as no request holds units of it.
    """
    created = 0
    for group in BloodGroup.values:
        for component, share in _COMPONENT_SHARE.items():
            shelf_life = compatibility.SHELF_LIFE_DAYS[component]
            for age_fraction, suffix in ((0.6, "1"), (0.1, "2")):
                units = max(1, round(_GROUP_UNITS[group] * share / 2))
                collected_on = today - datetime.timedelta(days=int(shelf_life * age_fraction))
                expires_on = collected_on + datetime.timedelta(days=shelf_life)
                lot_number = f"DEMO-{_GROUP_CODE[group]}-{_COMPONENT_CODE[component]}-{suffix}"
                values = {
                    "blood_group": group,
                    "component": component,
                    "units": units,
                    "initial_units": units,
                    "collected_on": collected_on,
                    "expires_on": expires_on,
                    "status": StockLot.Status.AVAILABLE,
                }
                lot, was_created = StockLot.objects.get_or_create(
                    blood_bank=bank, lot_number=lot_number, defaults=values
                )
                created += was_created
                stale = lot.expires_on <= today or lot.status != StockLot.Status.AVAILABLE or lot.units == 0
                if not was_created and stale and not lot.allocations.exists():
                    StockLot.objects.filter(pk=lot.pk).update(**values)
    return created


def _donor() -> tuple[User, bool]:
    donor = User.objects.filter(username__iexact=DONOR_USERNAME).first()
    if donor is not None:
        return donor, False
    donor = User(
        username=DONOR_USERNAME,
        fullname="Demo Donor",
        email="donor@hms.local",
        role=User.Role.DONOR,
        blood_group=BloodGroup.O_NEG,
    )
    donor.set_password(DONOR_PASSWORD)
    donor.save()
    return donor, True


@transaction.atomic
def seed_bloodbank(*, hospitals, stdout=None) -> dict:
    """One blood bank per given hospital plus one independent bank, each stocked with lots of every
    group and component, and the `donor` account. Existing rows are kept (never overwritten)."""
    hospitals = list(hospitals)
    today = timezone.localdate()
    banks, banks_created, lots_created = [], 0, 0
    for hospital in hospitals:
        bank, created = _bank_for_hospital(hospital)
        banks.append(bank)
        banks_created += created
    bank, created = _independent_bank(hospitals)
    banks.append(bank)
    banks_created += created
    for bank in banks:
        lots_created += _stock(bank, today)
    donor, donor_created = _donor()
    _write(stdout, f"Blood banks: {len(banks)} ({banks_created} new), stock lots created: {lots_created}")
    _write(
        stdout, f"Donor login: {DONOR_USERNAME} / {DONOR_PASSWORD}" + ("" if donor_created else " (existing account)")
    )
    return {"banks": banks, "donor": donor, "banks_created": banks_created, "lots_created": lots_created}
