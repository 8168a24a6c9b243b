"""Appointments: booking input, output, edits and cancellation."""

from rest_framework import serializers

from accounts.models import User
from appointments.models import Appointment
from appointments.serializers.common import HospitalTimeField
from appointments.serializers.doctors import DoctorBriefOut
from hms.api.serializers import IdField, ReadOnlyModelSerializer, Serializer


class PatientBriefOut(ReadOnlyModelSerializer):
    shared_fields = True  # the object alone decides the answer

    class Meta:
        model = User
        fields = ["id", "fullname", "phone_num"]


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
            "token_number",
            "status",
            "reason",
            "cancel_reason",
            "created_at",
            "updated_at",
        ]


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


class AppointmentUpdateIn(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True)
    slot_id = IdField(required=False, help_text="Reschedule: the new slot (old seat released, new one taken).")


class CancelIn(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
