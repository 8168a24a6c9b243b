"""Weekly OPD schedules and slot generation from them."""

from datetime import timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone
from rest_framework import serializers

from appointments.models import MAX_DAYS_AHEAD, MAX_DAYS_BACK, MAX_GENERATE_DAYS, Doctor, OpdSchedule
from appointments.permissions import doctor_of
from hms.api.serializers import IdField, ModelSerializer, ReadOnlyModelSerializer

# What a schedule says, as written and as shown (the output adds its ids and times).
SCHEDULE_FIELDS = [
    "department",
    "weekdays",
    "start_time",
    "end_time",
    "slot_minutes",
    "capacity_per_slot",
    "valid_from",
    "valid_until",
    "is_active",
]


class OpdScheduleOut(ReadOnlyModelSerializer):
    weekdays = serializers.ListField(child=serializers.IntegerField(min_value=0, max_value=6), read_only=True)

    class Meta:
        model = OpdSchedule
        fields = ["id", "hospital_id", "doctor_id", *SCHEDULE_FIELDS, "created_at", "updated_at"]


class OpdScheduleIn(ModelSerializer):
    """Times are the hospital's local wall-clock times. `doctor_id` is fixed once created."""

    doctor_id = serializers.PrimaryKeyRelatedField(
        source="doctor",
        queryset=Doctor.objects.select_related("hospital"),
        required=False,
        help_text="Defaults to the caller's own profile when a doctor creates its schedule.",
    )
    hospital_id = IdField(required=False, write_only=True, help_text="Optional; must be the doctor's hospital.")
    weekdays = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=6),
        min_length=1,
        max_length=7,
        help_text="Weekday numbers, Monday=0 .. Sunday=6.",
    )
    valid_from = serializers.DateField(required=False, help_text="Defaults to today.")

    class Meta:
        model = OpdSchedule
        fields = ["doctor_id", "hospital_id", *SCHEDULE_FIELDS]

    def validate_weekdays(self, value):
        return sorted(set(value))

    def validate(self, attrs):
        instance = self.instance
        if instance is not None:
            attrs.pop("doctor", None)
        hospital_id = attrs.pop("hospital_id", None)
        if instance is None:
            if "doctor" not in attrs:
                own = doctor_of(self.context["request"].user)
                if own is None:
                    raise serializers.ValidationError({"doctor_id": ["This field is required."]}, code="required")
                attrs["doctor"] = own
            doctor = attrs["doctor"]
            if hospital_id is not None and hospital_id != doctor.hospital_id:
                raise serializers.ValidationError(
                    {"hospital_id": ["This is not the doctor's hospital."]}, code="invalid"
                )
            attrs.setdefault("valid_from", timezone.now().astimezone(ZoneInfo(doctor.hospital.timezone)).date())

        def current(name):
            return attrs.get(name, getattr(instance, name, None))

        start, end, minutes = current("start_time"), current("end_time"), current("slot_minutes") or 15
        if start is not None and end is not None:
            if end <= start:
                raise serializers.ValidationError({"end_time": ["OPD hours end after they start."]}, code="invalid")
            span = (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)
            if minutes > span:
                raise serializers.ValidationError(
                    {"slot_minutes": ["A slot cannot be longer than the OPD hours."]}, code="invalid"
                )
        valid_from, valid_until = current("valid_from"), current("valid_until")
        if valid_from and valid_until and valid_until < valid_from:
            raise serializers.ValidationError(
                {"valid_until": ["The schedule ends on or after it starts."]}, code="invalid"
            )
        return attrs


class GenerateSlotsIn(serializers.Serializer):
    from_date = serializers.DateField(
        required=False, help_text=f"Defaults to today (hospital-local); at most {MAX_DAYS_BACK} days ago."
    )
    to_date = serializers.DateField(
        help_text=(
            f"Inclusive; on or after from_date, at most {MAX_GENERATE_DAYS} days after it and at most "
            f"{MAX_DAYS_AHEAD} days after today."
        )
    )

    def validate(self, attrs):
        from_date = attrs.get("from_date") or self.context["today"]
        attrs["from_date"] = from_date
        if attrs["to_date"] < from_date:
            raise serializers.ValidationError({"to_date": ["to_date is on or after from_date."]}, code="invalid")
        today = self.context["today"]
        if from_date < today - timedelta(days=MAX_DAYS_BACK):
            raise serializers.ValidationError(
                {"from_date": [f"from_date is at most {MAX_DAYS_BACK} days ago."]}, code="invalid"
            )
        if attrs["to_date"] > today + timedelta(days=MAX_DAYS_AHEAD):
            raise serializers.ValidationError(
                {"to_date": [f"Slots are generated at most {MAX_DAYS_AHEAD} days ahead."]}, code="invalid"
            )
        if attrs["to_date"] - from_date > timedelta(days=MAX_GENERATE_DAYS):
            raise serializers.ValidationError(
                {"to_date": [f"Slots are generated at most {MAX_GENERATE_DAYS} days at a time."]}, code="invalid"
            )
        return attrs


class GenerateSlotsOut(serializers.Serializer):
    created = serializers.IntegerField()
    skipped = serializers.IntegerField(help_text="Slots that already existed or whose time has passed.")
