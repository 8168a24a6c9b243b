from django.db import transaction
from rest_framework.exceptions import PermissionDenied, ValidationError

from accounts.activity import Action, record_row
from accounts.models import User
from appointments.models import Appointment, Prescription, Visit
from appointments.permissions import doctor_of
from appointments.services.queues import queue_settle_for_appointment
from appointments.topics import appointment_changed
from hms.api.exceptions import Conflict


@transaction.atomic
def visit_create(
    *,
    by: User,
    appointment_id: int | None,
    patient_id: int | None,
    prescriptions: list[dict],
    fields: dict,
) -> Visit:
    """Record a visit of the doctor's own patient; with an appointment, that appointment is completed."""
    doctor = doctor_of(by)
    if doctor is None:
        raise PermissionDenied("Only a doctor with a doctor profile records visits.")
    appointment = None
    if appointment_id is not None:
        # Locked: a concurrent cancel or second visit waits, then sees the completed status.
        appointment = Appointment.objects.select_for_update().filter(pk=appointment_id, doctor=doctor).first()
        if appointment is None:
            raise ValidationError({"appointment_id": ["None of your appointments has this id."]}, code="does_not_exist")
        if patient_id is not None and patient_id != appointment.patient_id:
            raise ValidationError({"patient_id": ["This is not the appointment's patient."]}, code="patient_mismatch")
        Conflict.raise_for(appointment.transition_refusal(Appointment.Status.COMPLETED, by_visit=True))
        patient_id = appointment.patient_id
    elif patient_id is None:
        raise ValidationError(
            {"patient_id": ["Name the patient, or the appointment the visit belongs to."]}, code="required"
        )
    elif (
        not Appointment.objects.filter(patient_id=patient_id, doctor=doctor)
        .exclude(status=Appointment.Status.CANCELLED)
        .exists()
    ):
        raise ValidationError({"patient_id": ["This person is not one of your patients."]}, code="not_your_patient")

    visit = Visit.objects.create(
        appointment=appointment, patient_id=patient_id, doctor=doctor, hospital_id=doctor.hospital_id, **fields
    )
    Prescription.objects.bulk_create([Prescription(visit=visit, **item) for item in prescriptions])
    if appointment is not None:
        appointment.status = Appointment.Status.COMPLETED
        appointment.save(update_fields=["status", "updated_at"])
        appointment_changed(appointment, what=Appointment.Status.COMPLETED)
        queue_settle_for_appointment(by=by, appointment=appointment)  # its queue entry is done
        record_row(
            Action.ACTION,
            by=by,
            object_type="appointment",
            row=appointment,
            detail={"action": "completed", "visit_id": visit.pk},
        )
    record_row(Action.CREATE, by=by, object_type="visit", row=visit)
    return visit
