"""Blood requests: the lifecycle and the all-or-nothing FEFO allocation of compatible stock."""

from django.db import transaction
from django.db.models import F
from rest_framework.exceptions import PermissionDenied, ValidationError

from accounts.activity import Action, record_row
from accounts.models import User
from bloodbank import compatibility
from bloodbank.models import Allocation, BloodRequest, Component, StockLot
from bloodbank.topics import request_changed
from hms.api.exceptions import Conflict
from hospitals.access import manages_hospital


@transaction.atomic
def blood_request_create(*, by: User, data: dict) -> BloodRequest:
    bank = data["blood_bank"]
    if not bank.is_active:
        raise ValidationError({"blood_bank_id": ["This blood bank is deactivated."]}, code="inactive")
    if data.get("hospital") is None and by.hospital_id is not None:
        # Staff asking for their own patients: the request belongs to their hospital unless told otherwise.
        data.pop("hospital", None)
        data["hospital_id"] = by.hospital_id
    blood_request = BloodRequest.objects.create(requester=by, **data)
    request_changed(blood_request)
    _record(Action.CREATE, blood_request, by=by)
    return blood_request


def _record(action: str, blood_request: BloodRequest, *, by: User, detail: dict | None = None) -> None:
    """The audit entry of a request's creation or of a decision on it, naming its requester as the patient."""
    record_row(action, blood_request, by=by, object_type="blood_request", patient_field="requester_id", detail=detail)


def _locked_request(blood_request: BloodRequest, target: str) -> BloodRequest:
    blood_request = BloodRequest.objects.select_for_update().get(pk=blood_request.pk)
    if target not in BloodRequest.ALLOWED[blood_request.status]:
        raise Conflict(f"A {blood_request.status} blood request cannot become {target}.", code="illegal_transition")
    return blood_request


def blood_request_require_manager(*, by: User, blood_request: BloodRequest) -> None:
    """403 unless the caller manages the request's bank: who approves, rejects and fulfils."""
    if not manages_hospital(by, blood_request.blood_bank.hospital_id):
        raise PermissionDenied("Only the managers of this blood bank may do this.")


def blood_request_require_canceller(*, by: User, blood_request: BloodRequest) -> None:
    """403 unless the caller is the requester or manages the request's bank: who cancels."""
    if by.pk != blood_request.requester_id:
        blood_request_require_manager(by=by, blood_request=blood_request)


def _decide(
    blood_request: BloodRequest, *, by: User, action: str, stock_moved: bool = False, detail=None, **changes
) -> BloodRequest:
    """The last step of every transition: save the new status (and `changes`), emit, record `action`."""
    for field, value in changes.items():
        setattr(blood_request, field, value)
    blood_request.save(update_fields=[*changes, "updated_at"])
    request_changed(blood_request, stock_moved=stock_moved)
    _record(Action.ACTION, blood_request, by=by, detail={"action": action, **(detail or {})})
    return blood_request


def _plan_allocation(*, lots: list[StockLot], recipient: str, component: str, units: int) -> list[tuple[StockLot, int]]:
    """FEFO: the recipient's own group first, then every other compatible group together, each by
    earliest expiry (ties: closest match, then the older lot). Returns [] when there is not enough."""
    preference = compatibility.compatible_donors(recipient=recipient, component=component)
    ordered = sorted(
        lots,
        key=lambda lot: (lot.blood_group != recipient, lot.expires_on, preference.index(lot.blood_group), lot.pk),
    )
    plan, needed = [], units
    for lot in ordered:
        if needed == 0:
            break
        take = min(lot.units, needed)
        plan.append((lot, take))
        needed -= take
    return plan if needed == 0 else []


def _insufficient_message(*, lots: list[StockLot], blood_request: BloodRequest) -> str:
    by_group: dict[str, int] = {}
    for lot in lots:
        by_group[lot.blood_group] = by_group.get(lot.blood_group, 0) + lot.units
    total = sum(by_group.values())
    component = Component(blood_request.component).label.lower()
    preference = compatibility.compatible_donors(recipient=blood_request.blood_group, component=blood_request.component)
    breakdown = ", ".join(f"{group}: {by_group[group]}" for group in preference if by_group.get(group))
    return (
        f"Not enough stock: {blood_request.units} units of {component} requested for a {blood_request.blood_group} "
        f"recipient, but only {total} compatible usable units are available at this blood bank"
        + (f" ({breakdown})." if breakdown else ".")
        + " Nothing was reserved."
    )


@transaction.atomic
def blood_request_approve(*, by: User, blood_request: BloodRequest) -> BloodRequest:
    """Allocate all requested units from usable compatible lots, or nothing at all (409)."""
    blood_request_require_manager(by=by, blood_request=blood_request)
    blood_request = _locked_request(blood_request, BloodRequest.Status.APPROVED)
    groups = compatibility.compatible_donors(recipient=blood_request.blood_group, component=blood_request.component)
    # Lock every candidate lot in pk order: concurrent approvals queue on the same rows in the same
    # order (no deadlock), and each sees the units the previous one left (PostgreSQL re-checks the
    # WHERE clause on the fresh row after the wait), so no unit is allocated twice.
    lots = list(
        StockLot.objects.usable()
        .select_for_update()
        .filter(blood_bank_id=blood_request.blood_bank_id, component=blood_request.component, blood_group__in=groups)
        .order_by("pk")
    )
    plan = _plan_allocation(
        lots=lots, recipient=blood_request.blood_group, component=blood_request.component, units=blood_request.units
    )
    if not plan:
        raise Conflict(_insufficient_message(lots=lots, blood_request=blood_request), code="insufficient_stock")
    for lot, take in plan:
        # F() so the database does the arithmetic; the CHECK (units >= 0) is the last line of defence.
        StockLot.objects.filter(pk=lot.pk).update(units=F("units") - take)
    Allocation.objects.bulk_create([Allocation(request=blood_request, lot=lot, units=take) for lot, take in plan])
    return _decide(
        blood_request,
        by=by,
        action="approve",
        stock_moved=True,
        detail={"allocations": [[lot.pk, take] for lot, take in plan]},
        status=BloodRequest.Status.APPROVED,
        decided_by=by,
    )


@transaction.atomic
def blood_request_reject(*, by: User, blood_request: BloodRequest, reason: str) -> BloodRequest:
    blood_request_require_manager(by=by, blood_request=blood_request)
    blood_request = _locked_request(blood_request, BloodRequest.Status.REJECTED)
    return _decide(
        blood_request,
        by=by,
        action="reject",
        status=BloodRequest.Status.REJECTED,
        rejection_reason=reason,
        decided_by=by,
    )


@transaction.atomic
def blood_request_fulfil(*, by: User, blood_request: BloodRequest) -> BloodRequest:
    blood_request_require_manager(by=by, blood_request=blood_request)
    blood_request = _locked_request(blood_request, BloodRequest.Status.FULFILLED)
    return _decide(blood_request, by=by, action="fulfil", status=BloodRequest.Status.FULFILLED)


@transaction.atomic
def blood_request_cancel(*, by: User, blood_request: BloodRequest) -> BloodRequest:
    """Cancel a pending or approved request; an approved one gives its units back to their lots."""
    blood_request_require_canceller(by=by, blood_request=blood_request)
    blood_request = _locked_request(blood_request, BloodRequest.Status.CANCELLED)
    allocations = list(blood_request.allocations.filter(returned=False).order_by("lot_id"))
    if allocations:
        # Same lock order as approve (lots by pk), so a cancel and an approval never deadlock.
        list(StockLot.objects.select_for_update().filter(pk__in=[a.lot_id for a in allocations]).order_by("pk"))
        for allocation in allocations:
            StockLot.objects.filter(pk=allocation.lot_id).update(units=F("units") + allocation.units)
        Allocation.objects.filter(pk__in=[a.pk for a in allocations]).update(returned=True)
    return _decide(
        blood_request,
        by=by,
        action="cancel",
        stock_moved=bool(allocations),
        detail={"returned_units": sum(a.units for a in allocations)},
        status=BloodRequest.Status.CANCELLED,
    )
