"""The blood-bank topic of the change feed (API.md section 15) and the events stock changes emit."""

from bloodbank.models import BloodBank
from bloodbank.selectors import stock_summary
from feed.emit import emit
from feed.topics import register
from hospitals.access import is_admin


def _banks_shown(user):
    banks = BloodBank.objects.all()
    return banks if is_admin(user) else banks.filter(is_active=True)


def bank_shown(user, bank_id: int) -> bool:
    return _banks_shown(user).filter(pk=bank_id).exists()


def stock_topic(bank_id: int) -> str:
    return f"bloodbank.{bank_id}.stock"


def stock_state(user, bank_id: int) -> dict:
    """The shape of GET /blood-banks/{id}/stock."""
    return stock_summary(bank_id=bank_id, banks=lambda: _banks_shown(user)) or {"blood_bank_id": bank_id, "items": []}


def stock_changed(*, bank_id: int) -> None:
    """Call inside the transaction that changed the bank's lots (received, allocated, expired, ...)."""
    emit(stock_topic(bank_id), "stock.changed", stock_summary(bank_id=bank_id, banks=BloodBank.objects.all))


def register_topics() -> None:
    register("bloodbank.{id}.stock", public=True, allows=bank_shown, snapshot=stock_state)
