"""Appointments: booking input, output, edits and cancellation."""

from rest_framework import serializers

from accounts.models import User
from appointments.models import Appointment
from appointments.serializers.common import HospitalTimeField, local_iso, moment_writers, plain_body
from appointments.serializers.doctors import DoctorBriefOut, doctor_brief_row
from hms.api.serializers import IdField, ReadOnlyModelSerializer, Serializer


class PatientBriefOut(ReadOnlyModelSerializer):
    shared_fields = True  # the object alone decides the answer

    class Meta:
        model = User
        fields = ["id", "fullname", "phone_num"]


# The appointment's own columns, which AppointmentOut writes as they are, last in its key order: named here
# for its fields and for the list's columns (APPOINTMENT_LIST_COLUMNS).
APPOINTMENT_OWN_COLUMNS = ("token_number", "status", "reason", "cancel_reason", "created_at", "updated_at")


class AppointmentOut(ReadOnlyModelSerializer):
    patient = PatientBriefOut(read_only=True)
    doctor = DoctorBriefOut(read_only=True)
    start = HospitalTimeField(source="slot.start")
    end = HospitalTimeField(source="slot.end")

    shared_fields = True  # the object alone decides the answer

    class Meta:
        model = Appointment
        fields = [
            "id",
            "patient_id",
            "patient",
            "doctor_id",
            "doctor",
            "hospital_id",
            "slot_id",
            "start",
            "end",
            *APPOINTMENT_OWN_COLUMNS,
        ]


# AppointmentOut's list rows from these `.values()` columns (appointment_list_row): the list's page without
# five model instances and a serializer per row.
APPOINTMENT_LIST_COLUMNS = (
    "id",
    "patient_id",
    "patient__fullname",
    "patient__phone_num",
    "doctor_id",
    "doctor__user__fullname",
    "doctor__specialization",
    "doctor__department",
    "hospital_id",
    "slot_id",
    "slot__start",
    "slot__end",
    "hospital__timezone",
    *APPOINTMENT_OWN_COLUMNS,
)


def appointment_moment_writers() -> tuple:
    """The writers of `created_at` and `updated_at` for one answer (the current time zone, read once)."""
    return moment_writers(AppointmentOut, "created_at", "updated_at")


def appointment_list_row(row: dict, moment_writers: tuple) -> dict:
    """What AppointmentOut writes for an appointment, from its APPOINTMENT_LIST_COLUMNS (none of which is
    null: every text column is NOT NULL, every id and time is required), in the serializer's key order;
    `moment_writers`: appointment_moment_writers() of the answer."""
    created, updated = moment_writers
    zone = row["hospital__timezone"]
    return {
        "id": row["id"],
        "patient_id": row["patient_id"],
        "patient": {
            "id": row["patient_id"],
            "fullname": row["patient__fullname"],
            "phone_num": row["patient__phone_num"],
        },
        "doctor_id": row["doctor_id"],
        "doctor": doctor_brief_row(row),
        "hospital_id": row["hospital_id"],
        "slot_id": row["slot_id"],
        "start": local_iso(row["slot__start"], zone),
        "end": local_iso(row["slot__end"], zone),
        "token_number": row["token_number"],
        "status": row["status"],
        "reason": row["reason"],
        "cancel_reason": row["cancel_reason"],
        "created_at": created(row["created_at"]),
        "updated_at": updated(row["updated_at"]),
    }


class AppointmentCreateIn(Serializer):
    slot_id = IdField(required=False, help_text="The slot; optional with `hold_id` (then it must be the hold's).")
    hold_id = IdField(required=False, help_text="Book the seat this active hold keeps (POST /slots/{id}/hold).")
    hospital_id = IdField(required=False, help_text="Optional; when given it must be the slot's hospital.")
    patient_id = IdField(
        required=False, help_text="Staff only (admin, hospital admin, doctors of the slot's hospital)."
    )
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")

    def validate(self, attrs):
        if "slot_id" not in attrs and "hold_id" not in attrs:
            raise serializers.ValidationError({"slot_id": ["This field is required."]}, code="required")
        return attrs

    @staticmethod
    def plain(data) -> dict | None:
        """The validated values of a plain booking body (ids only, `slot_id` or `hold_id` among them:
        `common.plain_body`), as `validated_data` holds them; None: validate with the serializer."""
        values = plain_body(data, ids=("slot_id", "hold_id", "hospital_id", "patient_id"))
        if values is None or ("slot_id" not in values and "hold_id" not in values):
            return None
        values["reason"] = ""  # the field's default
        return values


def appointment_out(appointment: Appointment) -> dict:
    """What AppointmentOut writes for `appointment` (reading its patient, doctor and the doctor's user,
    slot and hospital as the serializer does), without the serializer's machinery: a booking's answer."""
    patient, doctor, slot = appointment.patient, appointment.doctor, appointment.slot
    row = {
        "id": appointment.pk,
        "patient_id": appointment.patient_id,
        "patient__fullname": patient.fullname,
        "patient__phone_num": patient.phone_num,
        "doctor_id": appointment.doctor_id,
        "doctor__user__fullname": doctor.user.fullname,
        "doctor__specialization": doctor.specialization,
        "doctor__department": doctor.department,
        "hospital_id": appointment.hospital_id,
        "slot_id": appointment.slot_id,
        "slot__start": slot.start,
        "slot__end": slot.end,
        "hospital__timezone": appointment.hospital.timezone,
        "token_number": appointment.token_number,
        "status": appointment.status,
        "reason": appointment.reason,
        "cancel_reason": appointment.cancel_reason,
        "created_at": appointment.created_at,
        "updated_at": appointment.updated_at,
    }
    return appointment_list_row(row, appointment_moment_writers())


class AppointmentUpdateIn(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True)
    slot_id = IdField(required=False, help_text="Reschedule: the new slot (old seat released, new one taken).")


class CancelIn(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
