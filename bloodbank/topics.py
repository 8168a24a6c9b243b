"""The blood-bank topic of the change feed (API.md section 15) and the events stock changes emit."""

from bloodbank.models import Allocation, BloodBank, BloodRequest, Donation, StockLot
from feed.emit import emit, emit_many
from feed.topics import register, user_topic
from hms.api.readcache import model_topics
from hospitals.access import is_admin


def _banks_shown(user):
    banks = BloodBank.objects.all()
    return banks if is_admin(user) else banks.filter(is_active=True)


def bank_shown(user, bank_id: int) -> bool:
    return _banks_shown(user).filter(pk=bank_id).exists()


def stock_topic(bank_id: int) -> str:
    return f"bloodbank.{bank_id}.stock"


def bank_topic(bank_id: int) -> str:
    """The bank row itself (active or not): a topic of the read cache, not of the feed."""
    return f"bloodbank.{bank_id}"


def stock_summary(**kwargs):
    from bloodbank.selectors import stock_summary as summary  # the selectors cache under these topics

    return summary(**kwargs)


def stock_state(user, bank_id: int) -> dict:
    """The shape of GET /blood-banks/{id}/stock."""
    return stock_summary(bank_id=bank_id, active_only=not is_admin(user)) or {"blood_bank_id": bank_id, "items": []}


def stock_changed(*, bank_id: int) -> None:
    """Call inside the transaction that changed the bank's lots (received, allocated, expired, ...)."""
    emit(stock_topic(bank_id), "stock.changed", stock_summary(bank_id=bank_id, active_only=False))


def register_topics() -> None:
    register("bloodbank.{id}.stock", public=True, allows=bank_shown, snapshot=stock_state)
    # What saves of these rows change, for the read cache (writes outside the services too: the admin).
    model_topics(BloodBank, lambda bank: [bank_topic(bank.pk)])
    model_topics(StockLot, lambda lot: [stock_topic(lot.blood_bank_id)])
    model_topics(BloodRequest, lambda request: [])
    model_topics(Donation, lambda donation: [])  # its lot is a StockLot of its own
    model_topics(Allocation, lambda allocation: [])  # allocated units are taken by UPDATEs that emit


def request_changed(blood_request, *, stock_moved: bool = False) -> None:
    """A blood request created or moved along its lifecycle: its requester's topic, and the bank's
    stock when units were allocated or given back."""
    events = []
    if stock_moved:
        summary = stock_summary(bank_id=blood_request.blood_bank_id, active_only=False)
        events.append((stock_topic(blood_request.blood_bank_id), "stock.changed", summary))
    data = {
        "blood_request_id": blood_request.pk,
        "status": blood_request.status,
        "blood_bank_id": blood_request.blood_bank_id,
        "blood_group": blood_request.blood_group,
        "component": blood_request.component,
        "units": blood_request.units,
    }
    events.append((user_topic(blood_request.requester_id), f"blood_request.{blood_request.status}", data))
    emit_many(events)
