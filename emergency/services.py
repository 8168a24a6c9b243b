"""Emergency rules that write: report, dispatch, status steps and forward. One transaction each; rows
locked emergency first, then ambulance (taken through emergency.ambulances)."""

from django.db import transaction
from django.utils import timezone
from rest_framework import serializers
from rest_framework.exceptions import NotFound, PermissionDenied

from accounts.activity import Action, record
from accounts.models import User
from emergency.ambulances import ambulance_take, drives
from emergency.models import Ambulance, Emergency, EmergencyEvent
from emergency.topics import emergency_changed
from hms.api.exceptions import Conflict
from hospitals import geo
from hospitals.access import manages_hospital
from hospitals.models import Hospital

# How far an emergency with coordinates looks for a hospital with emergency services.
NEAREST_HOSPITAL_RADIUS_KM = 500.0

Status = Emergency.Status


def nearest_emergency_hospital(*, latitude: float, longitude: float) -> Hospital | None:
    """The nearest active hospital with emergency services, however far.

    The bounding box of NEAREST_HOSPITAL_RADIUS_KM answers almost every report from an index; only a
    report from farther away than that from every hospital pays for ranking them all.
    """
    candidates = Hospital.objects.filter(
        is_active=True, emergency_services=True, latitude__isnull=False, longitude__isnull=False
    )
    nearby = geo.nearest(candidates, latitude, longitude, NEAREST_HOSPITAL_RADIUS_KM).first()
    if nearby is not None:
        return nearby
    return (
        candidates.annotate(distance_km=geo.distance_km_expression(latitude, longitude))
        .order_by("distance_km", "pk")
        .first()
    )


def _event(
    *, emergency: Emergency, by: User | None, note: str = "", from_hospital_id=None, to_hospital_id=None
) -> EmergencyEvent:
    # Every change of an emergency is told here, so its feed topic follows each one.
    emergency_changed(emergency)
    return EmergencyEvent.objects.create(
        emergency=emergency,
        status=emergency.status,
        actor=by,
        note=note,
        from_hospital_id=from_hospital_id,
        to_hospital_id=to_hospital_id,
    )


def _record(*, by: User | None, action: str, emergency: Emergency, detail: dict | None = None) -> None:
    record(action=action, actor=by, object_type="emergency", object_id=emergency.pk, detail=detail)


@transaction.atomic
def emergency_report(*, reporter: User | None, data: dict) -> Emergency:
    """Open to anyone. Without a hospital, coordinates assign the nearest one with emergency services."""
    hospital = data.get("hospital")
    if hospital is None and data.get("latitude") is not None:
        hospital = nearest_emergency_hospital(latitude=data["latitude"], longitude=data["longitude"])
    emergency = Emergency.objects.create(
        reporter=reporter,
        patient_name=data.get("patient_name", ""),
        contact_number=data["contact_number"],
        emergency_type=data["emergency_type"],
        severity=data.get("severity", Emergency.Severity.MEDIUM),
        description=data.get("description", ""),
        address=data.get("address", ""),
        latitude=data.get("latitude"),
        longitude=data.get("longitude"),
        hospital=hospital,
    )
    note = "Reported." if hospital else "Reported; no hospital assigned yet."
    _event(emergency=emergency, by=reporter, note=note, to_hospital_id=hospital.pk if hospital else None)
    _record(by=reporter, action=Action.CREATE, emergency=emergency)
    return emergency


def _take_ambulance(*, emergency: Emergency, ambulance_id: int | None) -> Ambulance:
    """The given ambulance of the emergency's hospital, or its available one nearest to the emergency
    (without coordinates on the emergency, nearest to its hospital)."""
    latitude, longitude = emergency.latitude, emergency.longitude
    if latitude is None:
        latitude, longitude = emergency.hospital.latitude, emergency.hospital.longitude
    return ambulance_take(
        hospital_ids=[emergency.hospital_id], ambulance_id=ambulance_id, latitude=latitude, longitude=longitude
    )


@transaction.atomic
def emergency_dispatch(*, by: User, emergency: Emergency, ambulance_id: int | None = None) -> Emergency:
    """Send the given ambulance, or the nearest available one of the emergency's hospital."""
    emergency = Emergency.objects.select_for_update(of=("self",)).select_related("hospital").get(pk=emergency.pk)
    emergency_require_manager(by=by, emergency=emergency)
    if Status.DISPATCHED not in Emergency.DISPATCH_TRANSITIONS.get(emergency.status, ()):
        raise Conflict(
            f"Only a reported emergency can be dispatched; this one is {emergency.status}.", code="illegal_transition"
        )
    if emergency.hospital_id is None:
        raise Conflict(
            "The emergency has no hospital yet; forward it to a hospital first.", code="no_hospital_assigned"
        )
    ambulance = _take_ambulance(emergency=emergency, ambulance_id=ambulance_id)
    ambulance.status = Ambulance.Status.DISPATCHED
    ambulance.save(update_fields=["status", "updated_at"])
    emergency.ambulance, emergency.status = ambulance, Status.DISPATCHED
    emergency.save(update_fields=["ambulance", "status", "updated_at"])
    _event(emergency=emergency, by=by, note=f"Ambulance {ambulance.vehicle_number} dispatched.")
    _record(
        by=by,
        action=Action.ACTION,
        emergency=emergency,
        detail={"action": "dispatch", "ambulance_id": ambulance.pk},
    )
    return emergency


def emergency_require_manager(*, by: User, emergency: Emergency) -> None:
    """403 unless the caller manages the emergency's hospital (an administrator for one without): who
    dispatches and forwards."""
    if not manages_hospital(by, emergency.hospital_id):
        raise PermissionDenied("Only an administrator or the emergency's hospital admin dispatches or forwards it.")


def _drives_it(by: User, emergency: Emergency) -> bool:
    return emergency.ambulance_id is not None and drives(by, emergency.ambulance)


def emergency_require_mover(*, by: User, emergency: Emergency) -> None:
    """403 unless the caller manages the emergency's hospital or drives its ambulance: who changes its status
    at all (which moves a driver may make is `_check_may_move`'s rule)."""
    if not manages_hospital(by, emergency.hospital_id) and not _drives_it(by, emergency):
        raise PermissionDenied("Only the emergency's hospital admin, the assigned driver or an administrator moves it.")


def _check_may_move(*, by: User, emergency: Emergency, status: str) -> None:
    emergency_require_mover(by=by, emergency=emergency)
    if not manages_hospital(by, emergency.hospital_id) and status not in Emergency.DRIVER_TARGETS:
        raise PermissionDenied("The ambulance's driver moves an emergency only from en_route to at_hospital.")


@transaction.atomic
def emergency_status_change(*, by: User, emergency: Emergency, status: str, note: str = "") -> Emergency:
    """One legal step (see Emergency.TRANSITIONS); resolved or cancelled frees the ambulance."""
    emergency = Emergency.objects.select_for_update(of=("self",)).select_related("ambulance").get(pk=emergency.pk)
    _check_may_move(by=by, emergency=emergency, status=status)
    if status not in Emergency.TRANSITIONS[emergency.status]:
        if any(status in targets for targets in Emergency.DISPATCH_TRANSITIONS.values()):
            raise Conflict(
                "An emergency becomes dispatched only through /dispatch, which assigns the ambulance.",
                code="illegal_transition",
            )
        raise Conflict(f"An emergency cannot move from {emergency.status} to {status}.", code="illegal_transition")
    previous = emergency.status
    emergency.status = status
    emergency.save(update_fields=["status", "updated_at"])
    if emergency.ambulance_id is not None:
        Ambulance.objects.filter(pk=emergency.ambulance_id).update(
            status=Emergency.AMBULANCE_STATUS_FOR[status], updated_at=timezone.now()
        )
    _event(emergency=emergency, by=by, note=note)
    _record(
        by=by,
        action=Action.ACTION,
        emergency=emergency,
        detail={"action": "status", "from": previous, "to": status},
    )
    return emergency


@transaction.atomic
def emergency_forward(*, by: User, emergency: Emergency, hospital_id: int, reason: str) -> Emergency:
    """Hand the emergency to another active hospital; its ambulance (if any) stays on it."""
    emergency = Emergency.objects.select_for_update(of=("self",)).get(pk=emergency.pk)
    emergency_require_manager(by=by, emergency=emergency)
    target = Hospital.objects.filter(pk=hospital_id, is_active=True).first()
    if target is None:
        raise NotFound("No such active hospital.")
    if not emergency.is_open:
        raise Conflict(f"A {emergency.status} emergency cannot be forwarded.", code="emergency_closed")
    if target.pk == emergency.hospital_id:
        raise serializers.ValidationError(
            {"hospital_id": ["The emergency is already assigned to this hospital."]}, code="same_hospital"
        )
    source_id = emergency.hospital_id
    emergency.hospital = target
    emergency.save(update_fields=["hospital", "updated_at"])
    _event(emergency=emergency, by=by, note=reason, from_hospital_id=source_id, to_hospital_id=target.pk)
    _record(
        by=by,
        action=Action.ACTION,
        emergency=emergency,
        detail={"action": "forward", "from_hospital_id": source_id, "to_hospital_id": target.pk},
    )
    return emergency
