"""Slots: output with bookability, creation and edits."""

from rest_framework import serializers

from appointments.models import MAX_SLOT_CAPACITY, Doctor, Slot, booking_refusal
from appointments.permissions import doctor_of
from appointments.serializers.common import HospitalTimeField, TimeZoneAwareInputField
from appointments.serializers.doctors import DoctorBriefOut
from hms.api.serializers import IdField, ReadOnlyModelSerializer


class SlotOut(ReadOnlyModelSerializer):
    doctor = DoctorBriefOut(read_only=True)
    start = HospitalTimeField()
    end = HospitalTimeField()
    date = serializers.DateField(source="local_date", read_only=True, help_text="The hospital-local date.")
    held = serializers.IntegerField(read_only=True, help_text="Seats kept by active holds not yet expired.")
    available = serializers.IntegerField(
        read_only=True, help_text="Free seats: capacity - booked - held, never negative."
    )
    is_bookable = serializers.SerializerMethodField()

    class Meta:
        model = Slot
        fields = [
            "id",
            "hospital_id",
            "doctor_id",
            "doctor",
            "opd_schedule_id",
            "start",
            "end",
            "date",
            "capacity",
            "booked",
            "held",
            "available",
            "is_bookable",
            "status",
        ]

    def get_is_bookable(self, obj) -> bool:
        """True when `booking_refusal` has no answer (open, in the future, free seats, doctor available,
        hospital active, OPD not closed)."""
        return booking_refusal(obj) is None


class SlotCreateIn(serializers.Serializer):
    doctor_id = serializers.PrimaryKeyRelatedField(
        queryset=Doctor.objects.select_related("hospital"),
        required=False,
        help_text="Defaults to the caller's own profile when a doctor adds a slot.",
    )
    hospital_id = IdField(required=False, help_text="Optional; must be the doctor's hospital.")
    start = TimeZoneAwareInputField(help_text="ISO 8601; without an offset it is the hospital's local time.")
    end = TimeZoneAwareInputField(help_text="ISO 8601; without an offset it is the hospital's local time.")
    capacity = serializers.IntegerField(min_value=1, max_value=MAX_SLOT_CAPACITY, default=1)
    status = serializers.ChoiceField(choices=Slot.Status.choices, default=Slot.Status.OPEN)

    def validate(self, attrs):
        if "doctor_id" not in attrs:
            own = doctor_of(self.context["request"].user)
            if own is None:
                raise serializers.ValidationError({"doctor_id": ["This field is required."]}, code="required")
            attrs["doctor_id"] = own
        hospital_id = attrs.pop("hospital_id", None)
        if hospital_id is not None and hospital_id != attrs["doctor_id"].hospital_id:
            raise serializers.ValidationError({"hospital_id": ["This is not the doctor's hospital."]}, code="invalid")
        return attrs


class SlotUpdateIn(serializers.Serializer):
    capacity = serializers.IntegerField(min_value=1, max_value=MAX_SLOT_CAPACITY, required=False)
    status = serializers.ChoiceField(choices=Slot.Status.choices, required=False)
