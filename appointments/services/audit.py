"""The audit entry of a row that belongs to a patient (an appointment, a visit, a hold, a waitlist entry, a
queue entry): filed under the row's patient, so the patient's activity shows it."""

from accounts.activity import record
from accounts.models import User


def record_patient_row(action: str, *, by: User | None, object_type: str, row, detail: dict | None = None) -> None:
    record(action=action, actor=by, object_type=object_type, object_id=row.pk, patient_id=row.patient_id, detail=detail)
