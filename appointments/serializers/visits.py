"""Visits and their prescriptions."""

from datetime import timedelta

from django.utils import timezone
from rest_framework import serializers

from appointments.models import Prescription, Visit
from hms.api.serializers import IdField, ModelSerializer, ReadOnlyModelSerializer

MAX_PRESCRIPTIONS = 50


class PrescriptionSerializer(ModelSerializer):
    class Meta:
        model = Prescription
        fields = ["id", "medicine", "dosage", "frequency", "duration_days", "instructions"]
        read_only_fields = ["id"]


class VisitOut(ReadOnlyModelSerializer):
    prescriptions = PrescriptionSerializer(many=True, read_only=True)

    class Meta:
        model = Visit
        fields = [
            "id",
            "appointment_id",
            "patient_id",
            "doctor_id",
            "hospital_id",
            "visited_at",
            "complaint",
            "diagnosis",
            "notes",
            "prescriptions",
            "created_at",
        ]


class VisitCreateIn(ModelSerializer):
    appointment_id = IdField(required=False, help_text="The appointment seen; it becomes completed.")
    patient_id = IdField(required=False, help_text="Without an appointment: one of the doctor's patients.")
    visited_at = serializers.DateTimeField(required=False, help_text="Defaults to now; never in the future.")
    prescriptions = PrescriptionSerializer(many=True, required=False, help_text=f"At most {MAX_PRESCRIPTIONS}.")

    class Meta:
        model = Visit
        fields = ["appointment_id", "patient_id", "visited_at", "complaint", "diagnosis", "notes", "prescriptions"]

    def validate_prescriptions(self, value):
        if len(value) > MAX_PRESCRIPTIONS:
            raise serializers.ValidationError(
                f"At most {MAX_PRESCRIPTIONS} prescriptions per visit.", code="max_length"
            )
        return value

    def validate_visited_at(self, value):
        if value > timezone.now() + timedelta(minutes=5):
            raise serializers.ValidationError("A visit cannot be in the future.", code="invalid")
        return value
