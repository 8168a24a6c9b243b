"""Slots: output with bookability, creation and edits."""

from types import SimpleNamespace

from rest_framework import serializers

from appointments.models import MAX_SLOT_CAPACITY, Doctor, Slot, booking_refusal
from appointments.permissions import doctor_of
from appointments.serializers.common import HospitalTimeField, TimeZoneAwareInputField, local_iso
from appointments.serializers.doctors import DoctorBriefOut, doctor_brief_row
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


# The `.values()` columns `slot_out_row` writes SlotOut's answer from (`held`: the `with_held()`
# annotation), for the slot list computed without a model instance or a serializer per row.
SLOT_ROW_COLUMNS = (
    *("id", "hospital_id", "doctor_id", "opd_schedule_id", "start", "end", "local_date"),
    *("capacity", "booked", "held", "status"),
    *("hospital__timezone", "hospital__is_active", "hospital__opd_status"),
    *("doctor__specialization", "doctor__department", "doctor__is_available", "doctor__user__fullname"),
)


def slot_out_row(row: dict, now) -> dict:
    """SlotOut's answer for a row of SLOT_ROW_COLUMNS, `is_bookable` at `now` (a test keeps the two in step)."""
    zone, held = row["hospital__timezone"], row["held"]
    seats = SimpleNamespace(
        start=row["start"],
        status=row["status"],
        booked=row["booked"],
        held=held,
        capacity=row["capacity"],
        hospital=SimpleNamespace(is_active=row["hospital__is_active"], opd_status=row["hospital__opd_status"]),
        doctor=SimpleNamespace(is_available=row["doctor__is_available"]),
    )
    return {
        "id": row["id"],
        "hospital_id": row["hospital_id"],
        "doctor_id": row["doctor_id"],
        "doctor": doctor_brief_row(row),
        "opd_schedule_id": row["opd_schedule_id"],
        "start": local_iso(row["start"], zone),
        "end": local_iso(row["end"], zone),
        "date": row["local_date"].isoformat(),
        "capacity": row["capacity"],
        "booked": row["booked"],
        "held": held,
        "available": max(row["capacity"] - row["booked"] - held, 0),
        "is_bookable": booking_refusal(seats, now) is None,
        "status": row["status"],
    }


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
