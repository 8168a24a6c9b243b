"""Who manages a blood bank."""

from accounts.models import User
from bloodbank.models import BloodBank


def is_bank_manager(*, user, bank: BloodBank) -> bool:
    """Admin, or the hospital admin of the bank's own hospital (an independent bank: admin only)."""
    if not user or not user.is_authenticated:
        return False
    if user.role == User.Role.ADMIN:
        return True
    return (
        user.role == User.Role.HOSPITAL_ADMIN and bank.hospital_id is not None and user.hospital_id == bank.hospital_id
    )
