"""Ambulance rules that write: the fleet (create, update, position, manual status) and taking or
freeing one for a job (an emergency's dispatch here, a referral's in transfers). One transaction each."""

from collections.abc import Callable, Sequence

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone
from rest_framework import serializers
from rest_framework.exceptions import NotFound, PermissionDenied

from accounts.activity import Action, record
from accounts.models import User
from emergency.models import Ambulance, AmbulanceLocation, Emergency
from emergency.topics import ambulance_moved
from hms.api.exceptions import Conflict
from hms.api.roles import Role
from hospitals import geo
from hospitals.access import is_admin, manages_hospital
from hospitals.models import Hospital


def _check_driver(*, driver: User | None, hospital: Hospital) -> None:
    if driver is None:
        return
    if driver.role != Role.AMBULANCE_DRIVER or driver.hospital_id != hospital.pk or not driver.is_active:
        raise serializers.ValidationError(
            {"driver_id": ["The driver must be an active ambulance_driver of the ambulance's hospital."]},
            code="invalid_driver",
        )


def _check_manages(*, by: User, hospital: Hospital) -> None:
    if not manages_hospital(by, hospital.pk):
        raise PermissionDenied("Only an administrator or this hospital's admin manages its ambulances.")


def drives(user: User, ambulance: Ambulance) -> bool:
    """The ambulance's assigned driver."""
    return user.role == Role.AMBULANCE_DRIVER and ambulance.driver_id == user.pk


def _on_open_emergency(ambulance: Ambulance) -> bool:
    return Emergency.objects.filter(ambulance=ambulance, status__in=Emergency.OPEN_STATUSES).exists()


# An ambulance serves one job at a time: an open emergency, or a job of an app above this one (a
# transfer between hospitals). Such an app registers here, at startup, how to tell whether it holds an
# ambulance, so the manual status and hospital changes refuse its ambulances too without this app
# importing it. Taking an ambulance for any job needs it `available` under its row lock (ambulance_take).
_OTHER_JOBS: list[Callable[[int], bool]] = []


def register_ambulance_job(holds: Callable[[int], bool]) -> None:
    """`holds(ambulance_id)`: whether an open job of the registering app has that ambulance."""
    if holds not in _OTHER_JOBS:
        _OTHER_JOBS.append(holds)


def _on_open_job(ambulance: Ambulance) -> bool:
    return _on_open_emergency(ambulance) or any(holds(ambulance.pk) for holds in _OTHER_JOBS)


def _place(*, ambulance: Ambulance, latitude: float, longitude: float, by: User | None) -> None:
    now = timezone.now()
    ambulance.latitude, ambulance.longitude, ambulance.location_updated_at = latitude, longitude, now
    AmbulanceLocation.objects.create(
        ambulance=ambulance, latitude=latitude, longitude=longitude, recorded_at=now, recorded_by=by
    )


@transaction.atomic
def ambulance_create(*, by: User, data: dict) -> Ambulance:
    """A new ambulance of a hospital; the admin names the hospital, a hospital admin gets its own."""
    hospital = data.get("hospital")
    if hospital is None:
        if by.role != Role.HOSPITAL_ADMIN:
            raise serializers.ValidationError({"hospital_id": ["This field is required."]}, code="required")
        hospital = by.hospital
    _check_manages(by=by, hospital=hospital)
    _check_driver(driver=data.get("driver"), hospital=hospital)
    ambulance = Ambulance(
        hospital=hospital,
        vehicle_number=data["vehicle_number"],
        ambulance_type=data.get("ambulance_type", Ambulance.AmbulanceType.BASIC),
        driver=data.get("driver"),
    )
    ambulance.save()
    if data.get("latitude") is not None:
        _place(ambulance=ambulance, latitude=data["latitude"], longitude=data["longitude"], by=by)
        ambulance.save(update_fields=["latitude", "longitude", "location_updated_at"])
        ambulance_moved(ambulance)
    record(action=Action.CREATE, actor=by, object_type="ambulance", object_id=ambulance.pk)
    return ambulance


@transaction.atomic
def ambulance_update(*, by: User, ambulance: Ambulance, data: dict) -> Ambulance:
    """Change vehicle details, driver or home hospital (admin only, and not while on an open emergency)."""
    ambulance = Ambulance.objects.select_for_update().get(pk=ambulance.pk)
    _check_manages(by=by, hospital=ambulance.hospital)
    hospital = data.get("hospital", ambulance.hospital)
    if hospital.pk != ambulance.hospital_id:
        if not is_admin(by):
            raise PermissionDenied("Only an administrator moves an ambulance to another hospital.")
        if _on_open_job(ambulance):
            raise Conflict(
                "The ambulance is on an open emergency or transfer; it cannot change hospital now.",
                code="ambulance_busy",
            )
        if "driver" not in data and ambulance.driver_id is not None:
            data["driver"] = None  # the old driver belongs to the old hospital
    driver = data.get("driver", ambulance.driver)
    if "driver" in data or "hospital" in data:
        _check_driver(driver=driver, hospital=hospital)
    for field in ("vehicle_number", "ambulance_type", "driver", "hospital"):
        if field in data:
            setattr(ambulance, field, data[field])
    # A partial update may name one coordinate: the other is the stored one (validated as a pair).
    moved = "latitude" in data or "longitude" in data
    if moved:
        latitude = data.get("latitude", ambulance.latitude)
        longitude = data.get("longitude", ambulance.longitude)
        if latitude is None:
            ambulance.latitude = ambulance.longitude = ambulance.location_updated_at = None
        else:
            _place(ambulance=ambulance, latitude=latitude, longitude=longitude, by=by)
    ambulance.save()
    if moved and ambulance.latitude is not None:
        ambulance_moved(ambulance)
    record(action=Action.UPDATE, actor=by, object_type="ambulance", object_id=ambulance.pk)
    return ambulance


def ambulance_require_reporter(*, by: User, ambulance: Ambulance) -> None:
    """403 unless the caller drives the ambulance or manages its hospital: who reports its location."""
    if not (manages_hospital(by, ambulance.hospital_id) or drives(by, ambulance)):
        raise PermissionDenied("Only the ambulance's driver or its hospital's admin reports its location.")


@transaction.atomic
def ambulance_location_update(*, by: User, ambulance: Ambulance, latitude: float, longitude: float):
    """Its driver or its hospital's admin (or admin) reports where the ambulance is; the report is kept."""
    ambulance_require_reporter(by=by, ambulance=ambulance)
    ambulance = Ambulance.objects.select_for_update().get(pk=ambulance.pk)
    _place(ambulance=ambulance, latitude=latitude, longitude=longitude, by=by)
    ambulance.save(update_fields=["latitude", "longitude", "location_updated_at", "updated_at"])
    ambulance_moved(ambulance)
    record(
        action=Action.ACTION,
        actor=by,
        object_type="ambulance",
        object_id=ambulance.pk,
        detail={"action": "location"},
    )
    return ambulance


@transaction.atomic
def ambulance_status_set(*, by: User, ambulance: Ambulance, status: str) -> Ambulance:
    """available / out_of_service by hand; never while the ambulance serves an open emergency."""
    _check_manages(by=by, hospital=ambulance.hospital)
    # The dispatch service locks the ambulance too, so no emergency can take it between check and write.
    ambulance = Ambulance.objects.select_for_update().get(pk=ambulance.pk)
    if status not in Ambulance.MANUAL_STATUSES:
        raise serializers.ValidationError(
            {"status": ["dispatched and busy are set only through emergencies."]}, code="invalid_choice"
        )
    if _on_open_job(ambulance):
        raise Conflict(
            "The ambulance is on an open emergency or transfer; finish or cancel it first.", code="ambulance_busy"
        )
    previous = ambulance.status
    ambulance.status = status
    ambulance.save(update_fields=["status", "updated_at"])
    record(
        action=Action.ACTION,
        actor=by,
        object_type="ambulance",
        object_id=ambulance.pk,
        detail={"action": "status", "from": previous, "to": status},
    )
    return ambulance


def _available_ambulances(*, hospital_ids: Sequence[int], latitude: float | None, longitude: float | None):
    """Available ambulances of those hospitals, nearest to (latitude, longitude) first.

    An ambulance that never reported a position counts as standing at its hospital. Without a
    reference point, by id.
    """
    queryset = Ambulance.objects.filter(hospital_id__in=hospital_ids, status=Ambulance.Status.AVAILABLE)
    if latitude is None or longitude is None:
        return queryset.order_by("pk")
    return (
        queryset.annotate(
            position_lat=Coalesce("latitude", "hospital__latitude"),
            position_lng=Coalesce("longitude", "hospital__longitude"),
        )
        .annotate(distance_km=geo.distance_km_expression(latitude, longitude, "position_lat", "position_lng"))
        .order_by(F("distance_km").asc(nulls_last=True), "pk")
    )


def ambulance_take(
    *,
    hospital_ids: Sequence[int],
    ambulance_id: int | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
) -> Ambulance:
    """Lock and return an available ambulance of one of `hospital_ids` for a job (call inside a transaction).

    The given one (unknown: 404; another hospital's: 400 `hospital_mismatch`; not available: 409
    `ambulance_busy` / `ambulance_unavailable`), or the available one nearest to (latitude, longitude)
    (none: 409 `no_ambulance_available`). The caller sets its new status in the same transaction: the
    row lock and the `available` re-check are what keep one ambulance on one job.
    """
    if ambulance_id is not None:
        # Blocks while another dispatch holds this ambulance; the status is read after it commits.
        ambulance = Ambulance.objects.select_for_update().filter(pk=ambulance_id).first()
        if ambulance is None:
            raise NotFound("No such ambulance.")
        if ambulance.hospital_id not in hospital_ids:
            raise serializers.ValidationError(
                {"ambulance_id": ["The ambulance belongs to another hospital."]}, code="hospital_mismatch"
            )
        if ambulance.status != Ambulance.Status.AVAILABLE:
            raise Conflict(
                f"Ambulance {ambulance.vehicle_number} is not available ({ambulance.status}).",
                code="ambulance_unavailable"
                if ambulance.status == Ambulance.Status.OUT_OF_SERVICE
                else "ambulance_busy",
            )
        return ambulance
    # Candidates are read without locks, then locked one at a time and re-checked: a concurrent
    # dispatch that took one makes the re-check fail and we move on to the next nearest.
    candidates = _available_ambulances(hospital_ids=hospital_ids, latitude=latitude, longitude=longitude)
    for candidate_id in candidates.values_list("pk", flat=True)[:50]:
        ambulance = (
            Ambulance.objects.select_for_update()
            .filter(pk=candidate_id, status=Ambulance.Status.AVAILABLE, hospital_id__in=hospital_ids)
            .first()
        )
        if ambulance is not None:
            return ambulance
    where = "this hospital" if len(hospital_ids) == 1 else "these hospitals"
    raise Conflict(f"No ambulance of {where} is available.", code="no_ambulance_available")


def ambulance_free(*, ambulance_id: int) -> None:
    """The job that held the ambulance ended (inside its transaction): it is available again."""
    Ambulance.objects.filter(pk=ambulance_id).update(status=Ambulance.Status.AVAILABLE, updated_at=timezone.now())
