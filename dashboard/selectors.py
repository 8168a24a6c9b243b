"""Reads across every app for dashboards and system status (nothing imports this app)."""

from django.apps import apps

# Tables whose size an operator wants to see; apps not yet holding a model are skipped.
COUNTED_MODELS = [
    "accounts.User",
    "accounts.Activity",
    "hospitals.Hospital",
    "hospitals.Bed",
    "hospitals.Admission",
    "appointments.Doctor",
    "appointments.Slot",
    "appointments.Appointment",
    "appointments.Visit",
    "bloodbank.BloodBank",
    "bloodbank.StockLot",
    "bloodbank.BloodRequest",
    "emergency.Ambulance",
    "emergency.Emergency",
]


def row_counts() -> dict[str, int]:
    counts = {}
    for label in COUNTED_MODELS:
        try:
            model = apps.get_model(label)
        except LookupError:
            continue
        counts[label.split(".")[1].lower()] = model.objects.count()
    return counts
