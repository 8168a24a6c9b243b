"""The hospital topics of the change feed (API.md section 15) and the events bed changes emit."""

from feed.emit import emit
from feed.topics import register
from hospitals.access import is_admin
from hospitals.models import Hospital
from hospitals.selectors import bed_summary


def hospital_shown(user, hospital_id: int) -> bool:
    """Public hospital topics exist for active hospitals (an administrator's also for deactivated ones)."""
    hospitals = Hospital.objects.filter(pk=hospital_id)
    if not is_admin(user):
        hospitals = hospitals.filter(is_active=True)
    return hospitals.exists()


def beds_topic(hospital_id: int) -> str:
    return f"hospital.{hospital_id}.beds"


def beds_state(_user, hospital_id: int) -> dict:
    """The shape of GET /hospitals/{id}/availability."""
    return bed_summary(hospital_id=hospital_id)


def beds_changed(*, hospital_id: int) -> None:
    """Call inside the transaction that changed a bed of the hospital (status, ward, admission, ...)."""
    emit(beds_topic(hospital_id), "beds.changed", beds_state(None, hospital_id))


def register_topics() -> None:
    register("hospital.{id}.beds", public=True, allows=hospital_shown, snapshot=beds_state)
