"""Blood banks: create, update, deactivate."""

from django.db import transaction
from rest_framework.exceptions import PermissionDenied

from accounts.activity import audited_create, audited_deactivate, audited_update
from accounts.models import User
from bloodbank.models import BloodBank
from bloodbank.topics import bank_topic
from hospitals.access import is_admin


@transaction.atomic
def blood_bank_create(*, by: User, data: dict) -> BloodBank:
    return audited_create(BloodBank, by=by, data=data, object_type="blood_bank")


@transaction.atomic
def blood_bank_update(*, by: User, bank: BloodBank, data: dict) -> BloodBank:
    """Managers edit the bank's details; only an admin moves it to another hospital or (de)activates it."""
    bank = BloodBank.objects.select_for_update().get(pk=bank.pk)
    if not is_admin(by):
        if "hospital" in data and data["hospital"] != bank.hospital:
            raise PermissionDenied("Only an administrator may move a blood bank to another hospital.")
        if "is_active" in data and data["is_active"] != bank.is_active:
            raise PermissionDenied("Only an administrator may activate or deactivate a blood bank.")
    return audited_update(bank, by=by, data=data, object_type="blood_bank")


@transaction.atomic
def blood_bank_deactivate(*, by: User, bank: BloodBank) -> None:
    audited_deactivate(bank, by=by, object_type="blood_bank", topics=[bank_topic(bank.pk)])
