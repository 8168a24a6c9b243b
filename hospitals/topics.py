"""The hospital topics of the change feed (API.md section 15) and the events bed changes emit."""

from feed.emit import emit
from feed.topics import register
from hms.api.readcache import model_topics
from hospitals.access import is_admin
from hospitals.models import Admission, Bed, Floor, Hospital, Ward


def hospital_shown(user, hospital_id: int) -> bool:
    """Public hospital topics exist for active hospitals (an administrator's also for deactivated ones)."""
    hospitals = Hospital.objects.filter(pk=hospital_id)
    if not is_admin(user):
        hospitals = hospitals.filter(is_active=True)
    return hospitals.exists()


def beds_topic(hospital_id: int) -> str:
    return f"hospital.{hospital_id}.beds"


def hospital_topic(hospital_id: int) -> str:
    """The hospital row itself (active, OPD status, ...): a topic of the read cache, not of the feed."""
    return f"hospital.{hospital_id}"


def beds_state(_user, hospital_id: int) -> dict:
    """The shape of GET /hospitals/{id}/availability."""
    from hospitals.selectors import bed_summary  # computed (hospitals/availability.py caches under these topics)

    return bed_summary(hospital_id=hospital_id)


def beds_changed(*, hospital_id: int) -> None:
    """Call inside the transaction that changed a bed of the hospital (status, ward, admission, ...)."""
    emit(beds_topic(hospital_id), "beds.changed", beds_state(None, hospital_id))


def register_topics() -> None:
    register("hospital.{id}.beds", public=True, allows=hospital_shown, snapshot=beds_state)
    # What saves of these rows change, for the read cache (writes outside the services too: the admin).
    model_topics(Hospital, lambda hospital: [hospital_topic(hospital.pk)])
    model_topics(Floor, lambda floor: [])
    for model in (Ward, Bed, Admission):
        model_topics(model, lambda row: [beds_topic(row.hospital_id)])
