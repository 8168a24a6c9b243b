"""Blood banks: create, update, deactivate."""

from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import PermissionDenied

from accounts.activity import Action, record
from accounts.models import User
from bloodbank.models import BloodBank
from bloodbank.topics import bank_topic
from hms.api.readcache import writes_committed
from hospitals.access import is_admin


@transaction.atomic
def blood_bank_create(*, by: User, data: dict) -> BloodBank:
    bank = BloodBank.objects.create(**data)
    record(action=Action.CREATE, actor=by, object_type="blood_bank", object_id=bank.pk)
    return bank


@transaction.atomic
def blood_bank_update(*, by: User, bank: BloodBank, data: dict) -> BloodBank:
    """Managers edit the bank's details; only an admin moves it to another hospital or (de)activates it."""
    bank = BloodBank.objects.select_for_update().get(pk=bank.pk)
    if not is_admin(by):
        if "hospital" in data and data["hospital"] != bank.hospital:
            raise PermissionDenied("Only an administrator may move a blood bank to another hospital.")
        if "is_active" in data and data["is_active"] != bank.is_active:
            raise PermissionDenied("Only an administrator may activate or deactivate a blood bank.")
    for field, value in data.items():
        setattr(bank, field, value)
    bank.save()
    record(action=Action.UPDATE, actor=by, object_type="blood_bank", object_id=bank.pk)
    return bank


@transaction.atomic
def blood_bank_deactivate(*, by: User, bank: BloodBank) -> None:
    BloodBank.objects.filter(pk=bank.pk).update(is_active=False, updated_at=timezone.now())
    writes_committed(topics=[bank_topic(bank.pk)])  # an UPDATE sends no post_save
    record(action=Action.DELETE, actor=by, object_type="blood_bank", object_id=bank.pk)
