"""The emergency topics of the change feed (API.md section 15) and the events their changes emit."""

from types import SimpleNamespace

from emergency.models import Ambulance, AmbulanceLocation, Emergency, EmergencyEvent
from feed.emit import emit_many, snapshot
from feed.topics import register
from hms.api.readcache import model_topics
from hospitals.access import is_staff_of


def emergency_topic(emergency_id: int) -> str:
    return f"emergency.{emergency_id}"


def location_topic(ambulance_id: int) -> str:
    return f"ambulance.{ambulance_id}.location"


def _location(ambulance) -> dict | None:
    if ambulance is None or ambulance.latitude is None:
        return None
    return {"lat": ambulance.latitude, "lng": ambulance.longitude, "at": ambulance.location_updated_at}


def emergency_state(emergency: Emergency) -> dict:
    return {
        **snapshot(emergency, "emergency_id", ("status", "hospital_id", "ambulance_id")),
        "ambulance_location": _location(emergency.ambulance),
    }


def emergency_changed(emergency: Emergency) -> None:
    """Call inside the transaction that changed the emergency (reported, dispatched, status, forwarded)."""
    emit_many([(emergency_topic(emergency.pk), "emergency.changed", emergency_state(emergency))])


def ambulance_moved(ambulance: Ambulance) -> None:
    """Call inside the transaction that stored a new location: its topic, and its open emergency's."""
    events = [(location_topic(ambulance.pk), "ambulance.location", _location(ambulance))]
    for emergency in Emergency.objects.filter(ambulance=ambulance, status__in=Emergency.OPEN_STATUSES):
        emergency.ambulance = ambulance
        events.append((emergency_topic(emergency.pk), "emergency.changed", emergency_state(emergency)))
    emit_many(events)


def emergency_readable(user, emergency_id: int) -> bool:
    """Exactly who may GET /emergencies/{id}: the viewset's own scoping, asked without a request."""
    from emergency.views import EmergencyViewSet

    view = EmergencyViewSet(request=SimpleNamespace(user=user), action="retrieve", kwargs={}, format_kwarg=None)
    return view.get_queryset().filter(pk=emergency_id).exists()


def location_readable(user, ambulance_id: int) -> bool:
    """Its hospital's staff, its driver, admin."""
    ambulance = Ambulance.objects.filter(pk=ambulance_id).values("hospital_id", "driver_id").first()
    if ambulance is None:
        return False
    return is_staff_of(user, ambulance["hospital_id"]) or ambulance["driver_id"] == user.pk


def register_topics() -> None:
    register(
        "emergency.{id}",
        public=False,
        allows=emergency_readable,
        snapshot=lambda user, pk: emergency_state(Emergency.objects.select_related("ambulance").get(pk=pk)),
    )
    register(
        "ambulance.{id}.location",
        public=False,
        allows=location_readable,
        snapshot=lambda user, pk: _location(Ambulance.objects.get(pk=pk)) or {},
    )
    # No cached read depends on ambulances or emergencies alone (dashboards depend on every write).
    for model in (Ambulance, AmbulanceLocation, Emergency, EmergencyEvent):
        model_topics(model, lambda row: [])
