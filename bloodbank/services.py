"""Blood bank rules that write: banks, stock lots, FEFO allocation of requests, donations."""

import datetime
import secrets

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from rest_framework.exceptions import PermissionDenied, ValidationError

from accounts.activity import Action, record
from accounts.models import User
from bloodbank import compatibility
from bloodbank.models import Allocation, BloodBank, BloodRequest, Component, Donation, StockLot
from hms.api.exceptions import Conflict

WHOLE_BLOOD_DONATION_INTERVAL_DAYS = 56
# Sanity bounds on lot dates: nothing is collected, or keeps, longer than this (frozen plasma keeps
# for a few years at most).
MAX_LOT_AGE = datetime.timedelta(days=3653)


def is_bank_manager(*, user, bank: BloodBank) -> bool:
    """Admin, or the hospital admin of the bank's own hospital (an independent bank: admin only)."""
    if not user or not user.is_authenticated:
        return False
    if user.role == User.Role.ADMIN:
        return True
    return (
        user.role == User.Role.HOSPITAL_ADMIN and bank.hospital_id is not None and user.hospital_id == bank.hospital_id
    )


# --- Blood banks -----------------------------------------------------------------------------


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


# --- Stock lots ------------------------------------------------------------------------------


def _new_lot_number(collected_on: datetime.date) -> str:
    return f"L{collected_on:%Y%m%d}-{secrets.token_hex(4).upper()}"


def lot_dates(
    *, component: str, collected_on: datetime.date | None, expires_on: datetime.date | None, today: datetime.date
) -> tuple[datetime.date, datetime.date]:
    """Default and check a lot's dates (API.md section 14); a bad date is a 400 naming the field."""
    collected_on = collected_on or today
    if collected_on > today:
        raise ValidationError({"collected_on": ["A lot cannot be collected in the future."]}, code="invalid")
    if collected_on < today - MAX_LOT_AGE:
        raise ValidationError({"collected_on": ["A lot cannot be collected more than 10 years ago."]}, code="invalid")
    if expires_on is not None and expires_on > collected_on + MAX_LOT_AGE:
        raise ValidationError(
            {"expires_on": ["A lot cannot keep for more than 10 years after collection."]}, code="invalid"
        )
    if expires_on is None:
        expires_on = collected_on + datetime.timedelta(days=compatibility.SHELF_LIFE_DAYS[component])
    if expires_on <= collected_on:
        raise ValidationError({"expires_on": ["The expiry date must be after the collection date."]}, code="invalid")
    if expires_on <= today:
        raise ValidationError({"expires_on": ["This lot has already expired."]}, code="expired")
    return collected_on, expires_on


def _lot_create(
    *,
    bank: BloodBank,
    blood_group: str,
    component: str,
    units: int,
    collected_on: datetime.date | None,
    expires_on: datetime.date | None,
    lot_number: str,
) -> StockLot:
    collected_on, expires_on = lot_dates(
        component=component, collected_on=collected_on, expires_on=expires_on, today=timezone.localdate()
    )
    if not bank.is_active:
        raise Conflict("This blood bank is deactivated and takes no stock.")
    lot_number = lot_number or _new_lot_number(collected_on)
    if StockLot.objects.filter(blood_bank=bank, lot_number=lot_number).exists():
        raise Conflict(f"Lot number '{lot_number}' already exists in this blood bank.", code="unique")
    # The unique constraint still decides under concurrency: a racing duplicate becomes a 409.
    return StockLot.objects.create(
        blood_bank=bank,
        blood_group=blood_group,
        component=component,
        units=units,
        initial_units=units,
        collected_on=collected_on,
        expires_on=expires_on,
        lot_number=lot_number,
    )


@transaction.atomic
def stock_add(
    *,
    request,
    bank: BloodBank,
    blood_group: str,
    component: str = Component.WHOLE_BLOOD,
    units: int,
    collected_on: datetime.date | None = None,
    expires_on: datetime.date | None = None,
    lot_number: str = "",
) -> StockLot:
    """Receive a lot into a bank; expiry defaults to collection + the component's shelf life."""
    lot = _lot_create(
        bank=bank,
        blood_group=blood_group,
        component=component,
        units=units,
        collected_on=collected_on,
        expires_on=expires_on,
        lot_number=lot_number,
    )
    record(
        action=Action.CREATE,
        request=request,
        object_type="stock_lot",
        object_id=lot.pk,
        detail={"blood_bank_id": bank.pk, "units": units},
    )
    return lot


def stock_expire(*, today: datetime.date | None = None) -> int:
    """Mark available lots whose expiry date has come as expired; returns how many were marked."""
    today = today or timezone.localdate()
    with transaction.atomic():
        # Lock in pk order, like every other writer of lots, so this never deadlocks with a cancel.
        ids = list(
            StockLot.objects.select_for_update()
            .filter(status=StockLot.Status.AVAILABLE, expires_on__lte=today)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        return StockLot.objects.filter(pk__in=ids).update(status=StockLot.Status.EXPIRED)


# --- Blood requests --------------------------------------------------------------------------


@transaction.atomic
def blood_request_create(*, request, by: User, data: dict) -> BloodRequest:
    bank = data["blood_bank"]
    if not bank.is_active:
        raise ValidationError({"blood_bank_id": ["This blood bank is deactivated."]}, code="inactive")
    if data.get("hospital") is None and by.hospital_id is not None:
        # Staff asking for their own patients: the request belongs to their hospital unless told otherwise.
        data.pop("hospital", None)
        data["hospital_id"] = by.hospital_id
    blood_request = BloodRequest.objects.create(requester=by, **data)
    record(
        action=Action.CREATE,
        request=request,
        object_type="blood_request",
        object_id=blood_request.pk,
        patient_id=by.pk,
    )
    return blood_request


def _locked_request(blood_request: BloodRequest, target: str) -> BloodRequest:
    blood_request = BloodRequest.objects.select_for_update().get(pk=blood_request.pk)
    if target not in BloodRequest.ALLOWED[blood_request.status]:
        raise Conflict(f"A {blood_request.status} blood request cannot become {target}.", code="invalid_transition")
    return blood_request


def _require_manager(*, by: User, blood_request: BloodRequest) -> None:
    if not is_bank_manager(user=by, bank=blood_request.blood_bank):
        raise PermissionDenied("Only the managers of this blood bank may do this.")


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
def blood_request_approve(*, request, by: User, blood_request: BloodRequest) -> BloodRequest:
    """Allocate all requested units from usable compatible lots, or nothing at all (409)."""
    _require_manager(by=by, blood_request=blood_request)
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
    blood_request.status = BloodRequest.Status.APPROVED
    blood_request.decided_by = by
    blood_request.save(update_fields=["status", "decided_by", "updated_at"])
    record(
        action=Action.ACTION,
        request=request,
        object_type="blood_request",
        object_id=blood_request.pk,
        patient_id=blood_request.requester_id,
        detail={"action": "approve", "allocations": [[lot.pk, take] for lot, take in plan]},
    )
    return blood_request


@transaction.atomic
def blood_request_reject(*, request, by: User, blood_request: BloodRequest, reason: str) -> BloodRequest:
    _require_manager(by=by, blood_request=blood_request)
    blood_request = _locked_request(blood_request, BloodRequest.Status.REJECTED)
    blood_request.status = BloodRequest.Status.REJECTED
    blood_request.rejection_reason = reason
    blood_request.decided_by = by
    blood_request.save(update_fields=["status", "rejection_reason", "decided_by", "updated_at"])
    record(
        action=Action.ACTION,
        request=request,
        object_type="blood_request",
        object_id=blood_request.pk,
        patient_id=blood_request.requester_id,
        detail={"action": "reject"},
    )
    return blood_request


@transaction.atomic
def blood_request_fulfil(*, request, by: User, blood_request: BloodRequest) -> BloodRequest:
    _require_manager(by=by, blood_request=blood_request)
    blood_request = _locked_request(blood_request, BloodRequest.Status.FULFILLED)
    blood_request.status = BloodRequest.Status.FULFILLED
    blood_request.save(update_fields=["status", "updated_at"])
    record(
        action=Action.ACTION,
        request=request,
        object_type="blood_request",
        object_id=blood_request.pk,
        patient_id=blood_request.requester_id,
        detail={"action": "fulfil"},
    )
    return blood_request


@transaction.atomic
def blood_request_cancel(*, request, by: User, blood_request: BloodRequest) -> BloodRequest:
    """Cancel a pending or approved request; an approved one gives its units back to their lots."""
    if by.pk != blood_request.requester_id:
        _require_manager(by=by, blood_request=blood_request)
    blood_request = _locked_request(blood_request, BloodRequest.Status.CANCELLED)
    allocations = list(blood_request.allocations.filter(returned=False).order_by("lot_id"))
    if allocations:
        # Same lock order as approve (lots by pk), so a cancel and an approval never deadlock.
        list(StockLot.objects.select_for_update().filter(pk__in=[a.lot_id for a in allocations]).order_by("pk"))
        for allocation in allocations:
            StockLot.objects.filter(pk=allocation.lot_id).update(units=F("units") + allocation.units)
        Allocation.objects.filter(pk__in=[a.pk for a in allocations]).update(returned=True)
    blood_request.status = BloodRequest.Status.CANCELLED
    blood_request.save(update_fields=["status", "updated_at"])
    record(
        action=Action.ACTION,
        request=request,
        object_type="blood_request",
        object_id=blood_request.pk,
        patient_id=blood_request.requester_id,
        detail={"action": "cancel", "returned_units": sum(a.units for a in allocations)},
    )
    return blood_request


# --- Donations -------------------------------------------------------------------------------


def last_whole_blood_donation(*, donor: User, before: datetime.date | None = None) -> datetime.date | None:
    queryset = Donation.objects.filter(donor=donor, component=Component.WHOLE_BLOOD)
    if before is not None:
        queryset = queryset.filter(donated_on__lte=before)
    return queryset.order_by("-donated_on").values_list("donated_on", flat=True).first()


def donor_eligibility(*, donor: User, today: datetime.date | None = None) -> dict:
    """Whole blood: at least 56 days between donations. Never donated: eligible from today."""
    today = today or timezone.localdate()
    last = last_whole_blood_donation(donor=donor)
    next_eligible_on = today
    if last is not None:
        next_eligible_on = max(today, last + datetime.timedelta(days=WHOLE_BLOOD_DONATION_INTERVAL_DAYS))
    return {"eligible": next_eligible_on <= today, "last_donation": last, "next_eligible_on": next_eligible_on}


@transaction.atomic
def donation_record(
    *,
    request,
    by: User,
    donor: User,
    bank: BloodBank,
    component: str = Component.WHOLE_BLOOD,
    units: int = 1,
    blood_group: str = "",
    donated_on: datetime.date | None = None,
    expires_on: datetime.date | None = None,
    lot_number: str = "",
) -> Donation:
    """Record a donation and receive it as a stock lot of the bank, in one transaction."""
    if not is_bank_manager(user=by, bank=bank):
        raise PermissionDenied("Only the managers of this blood bank may record its donations.")
    today = timezone.localdate()
    donated_on = donated_on or today
    if donated_on > today:
        raise ValidationError({"donated_on": ["A donation cannot be recorded in the future."]}, code="invalid")
    if donated_on < today - MAX_LOT_AGE:
        raise ValidationError({"donated_on": ["A donation cannot be more than 10 years old."]}, code="invalid")
    blood_group = blood_group or donor.blood_group
    if not blood_group:
        raise ValidationError(
            {"blood_group": ["The donor has no blood group on record; give the typed group."]}, code="required"
        )
    # Serialise donations of one donor, so two recordings cannot both pass the interval check.
    User.objects.select_for_update().filter(pk=donor.pk).first()
    if component == Component.WHOLE_BLOOD:
        window = datetime.timedelta(days=WHOLE_BLOOD_DONATION_INTERVAL_DAYS - 1)
        clash = (
            Donation.objects.filter(
                donor=donor,
                component=Component.WHOLE_BLOOD,
                donated_on__gte=donated_on - window,
                donated_on__lte=donated_on + window,
            )
            .order_by("-donated_on")
            .values_list("donated_on", flat=True)
            .first()
        )
        if clash is not None:
            raise Conflict(
                f"The donor gave whole blood on {clash.isoformat()}; whole-blood donations must be at least "
                f"{WHOLE_BLOOD_DONATION_INTERVAL_DAYS} days apart.",
                code="donation_too_soon",
            )
    try:
        lot = _lot_create(
            bank=bank,
            blood_group=blood_group,
            component=component,
            units=units,
            collected_on=donated_on,
            expires_on=expires_on,
            lot_number=lot_number,
        )
    except ValidationError as exc:
        # The lot's collection date is the donation date: name the field the caller sent.
        if isinstance(exc.detail, dict) and "collected_on" in exc.detail:
            raise ValidationError({"donated_on": exc.detail["collected_on"]}, code="invalid") from exc
        if isinstance(exc.detail, dict) and "expires_on" in exc.detail and expires_on is None:
            raise ValidationError(
                {"donated_on": ["A donation this old would already have expired as stock."]}, code="expired"
            ) from exc
        raise
    donation = Donation.objects.create(
        donor=donor,
        blood_bank=bank,
        donated_on=donated_on,
        blood_group=blood_group,
        component=component,
        units=units,
        lot=lot,
        recorded_by=by,
    )
    record(
        action=Action.CREATE,
        request=request,
        object_type="donation",
        object_id=donation.pk,
        patient_id=donor.pk,
        detail={"blood_bank_id": bank.pk, "lot_id": lot.pk},
    )
    return donation
