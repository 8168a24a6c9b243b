import datetime

import pytest
from django.utils import timezone

from bloodbank.tests.factories import BloodBankFactory, StockLotFactory


@pytest.fixture
def bank(hospital):
    """A blood bank of `hospital`: managed by `hospital_admin`."""
    return BloodBankFactory(hospital=hospital, city="Pune", latitude=18.52, longitude=73.85)


@pytest.fixture
def other_bank(other_hospital):
    return BloodBankFactory(hospital=other_hospital, city="Mumbai", latitude=19.07, longitude=72.88)


@pytest.fixture
def independent_bank(db):
    return BloodBankFactory(hospital=None, city="Nashik", latitude=20.0, longitude=73.79)


@pytest.fixture
def lot():
    """Make a lot: lot(bank, "A+", units, expires_in_days=30, component="packed_red_cells", **extra)."""

    def make(bank, blood_group, units, expires_in_days=30, component="packed_red_cells", **extra):
        today = timezone.localdate()
        expires_on = today + datetime.timedelta(days=expires_in_days)
        return StockLotFactory(
            blood_bank=bank,
            blood_group=blood_group,
            component=component,
            units=units,
            collected_on=min(today - datetime.timedelta(days=3), expires_on - datetime.timedelta(days=1)),
            expires_on=expires_on,
            **extra,
        )

    return make
