"""Benchmark hospitals' blood banks and stock lots."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import TYPE_CHECKING

from bloodbank.compatibility import SHELF_LIFE_DAYS
from bloodbank.models import BloodBank, Component, StockLot
from dashboard.scale.bulk import copy_rows, weighted

if TYPE_CHECKING:
    from dashboard.scale import BenchData
    from hospitals.models import Hospital

# Blood groups as common as they are in India.
GROUP_WEIGHTS = {"O+": 37, "B+": 32, "A+": 22, "AB+": 7, "O-": 1, "A-": 0.5, "B-": 0.5, "AB-": 0.2}


def write_blood_bank(bench: BenchData, hospital: Hospital, tag: str, rng: random.Random) -> None:
    """The hospital's blood bank and its stock lots (COPY): some expired, marked or not, a few discarded."""
    bank = BloodBank.objects.create(
        name=f"{hospital.name} Blood Bank",
        hospital=hospital,
        license_number=f"BB-BENCH-{tag.upper()}",
        address=hospital.address,
        city=hospital.city,
        latitude=hospital.latitude,
        longitude=hospital.longitude,
        phone=hospital.phone,
        email=f"bank.{tag}@bench.hms.local",
    )
    fields = ["blood_bank_id", *StockLot.CONTENT_FIELDS, "lot_number", "status", "created_at"]
    rows = []
    for index in range(bench.lots):
        component = rng.choice(Component.values)
        shelf_life = SHELF_LIFE_DAYS[component]
        collected_on = bench.today - timedelta(days=rng.randint(0, shelf_life + 10))
        expires_on = collected_on + timedelta(days=shelf_life)
        initial = rng.randint(1, 10)
        status = StockLot.Status.AVAILABLE
        if expires_on <= bench.today and rng.random() < 0.5:
            status = StockLot.Status.EXPIRED  # the rest are past their date but not yet marked
        elif rng.random() < 0.02:
            status = StockLot.Status.DISCARDED
        rows.append(
            (
                bank.pk,
                weighted(rng, GROUP_WEIGHTS.items()),
                component,
                rng.randint(0, initial) if rng.random() < 0.2 else initial,
                initial,
                collected_on,
                expires_on,
                f"BENCH-{index + 1:05d}",
                status,
                bench.now,
            )
        )
    copy_rows(StockLot, fields, rows)
