"""Blood banks: create, update, deactivate."""

from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import PermissionDenied

from accounts.activity import Action, record
from accounts.models import User
from bloodbank.models import BloodBank


@transaction.atomic
def blood_bank_create(*, request, data: dict) -> BloodBank:
    bank = BloodBank.objects.create(**data)
    record(action=Action.CREATE, request=request, object_type="blood_bank", object_id=bank.pk)
    return bank


@transaction.atomic
def blood_bank_update(*, request, by: User, bank: BloodBank, data: dict) -> BloodBank:
    """Managers edit the bank's details; only an admin moves it to another hospital or (de)activates it."""
    bank = BloodBank.objects.select_for_update().get(pk=bank.pk)
    if by.role != User.Role.ADMIN:
        if "hospital" in data and data["hospital"] != bank.hospital:
            raise PermissionDenied("Only an administrator may move a blood bank to another hospital.")
        if "is_active" in data and data["is_active"] != bank.is_active:
            raise PermissionDenied("Only an administrator may activate or deactivate a blood bank.")
    for field, value in data.items():
        setattr(bank, field, value)
    bank.save()
    record(action=Action.UPDATE, request=request, object_type="blood_bank", object_id=bank.pk)
    return bank


@transaction.atomic
def blood_bank_deactivate(*, request, bank: BloodBank) -> None:
    BloodBank.objects.filter(pk=bank.pk).update(is_active=False, updated_at=timezone.now())
    record(action=Action.DELETE, request=request, object_type="blood_bank", object_id=bank.pk)
