from datetime import timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import User
from accounts.serializers import StaffAccountIn
from appointments.models import (
    MAX_DAYS_AHEAD,
    MAX_DAYS_BACK,
    MAX_GENERATE_DAYS,
    MAX_SLOT_CAPACITY,
    Appointment,
    Doctor,
    OpdSchedule,
    Prescription,
    Slot,
    Visit,
    booking_refusal,
)
from appointments.permissions import doctor_of
from hms.api.permissions import role_of
from hms.api.roles import Role
from hms.api.serializers import IdField, ModelSerializer
from hospitals.models import Hospital

MAX_PRESCRIPTIONS = 50


def local_iso(value, zone_name: str) -> str:
    """ISO 8601 with the hospital's offset, e.g. `2026-03-30T09:00:00+01:00`."""
    return value.astimezone(ZoneInfo(zone_name)).isoformat()


class TimeZoneAwareInputField(serializers.DateTimeField):
    """Keeps a naive input naive, so the service can read it as the hospital's local time."""

    offset_optional = True  # hms.api.strict / hms.api.schema: RFC 3339 with or without the offset

    def enforce_timezone(self, value):
        return value


# --- Doctors ---------------------------------------------------------------------------------


class DoctorBriefOut(ModelSerializer):
    fullname = serializers.CharField(source="user.fullname", read_only=True)

    class Meta:
        model = Doctor
        fields = ["id", "fullname", "specialization", "department"]
        read_only_fields = fields


DOCTOR_PROFILE_FIELDS = [
    "specialization",
    "department",
    "qualification",
    "license_number",
    "experience_years",
    "consultation_fee",
    "is_available",
]


class DoctorOut(ModelSerializer):
    user_id = serializers.IntegerField(read_only=True)
    hospital_id = serializers.IntegerField(read_only=True)
    fullname = serializers.CharField(source="user.fullname", read_only=True)

    class Meta:
        model = Doctor
        fields = ["id", "user_id", "hospital_id", "fullname", *DOCTOR_PROFILE_FIELDS]
        read_only_fields = fields


class DoctorCreateIn(ModelSerializer):
    """Exactly one of `user` (a new account) or `user_id` (an existing patient, donor or doctor account)."""

    user = StaffAccountIn(required=False, help_text="A new login account for the doctor.")
    user_id = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), required=False, help_text="An existing account to make a doctor."
    )
    hospital_id = serializers.PrimaryKeyRelatedField(
        source="hospital",
        queryset=Hospital.objects.filter(is_active=True),
        required=False,
        help_text="Required for an administrator; a hospital admin's own hospital by default.",
    )

    class Meta:
        model = Doctor
        fields = ["user", "user_id", "hospital_id", *DOCTOR_PROFILE_FIELDS]

    def validate(self, attrs):
        if ("user" in attrs) == ("user_id" in attrs):
            raise serializers.ValidationError(
                {"user": ["Give either `user` (a new account) or `user_id` (an existing one)."]}, code="required"
            )
        if "hospital" not in attrs:
            by = self.context["request"].user
            if role_of(by) == Role.HOSPITAL_ADMIN and by.hospital is not None:
                attrs["hospital"] = by.hospital
            else:
                raise serializers.ValidationError({"hospital_id": ["This field is required."]}, code="required")
        return attrs


class DoctorUpdateIn(ModelSerializer):
    """Profile fields only; the account is edited through /users and the hospital never changes."""

    class Meta:
        model = Doctor
        fields = DOCTOR_PROFILE_FIELDS


# --- OPD schedules ---------------------------------------------------------------------------


class OpdScheduleOut(ModelSerializer):
    hospital_id = serializers.IntegerField(read_only=True)
    doctor_id = serializers.IntegerField(read_only=True)
    weekdays = serializers.ListField(child=serializers.IntegerField(min_value=0, max_value=6), read_only=True)

    class Meta:
        model = OpdSchedule
        fields = [
            "id",
            "hospital_id",
            "doctor_id",
            "department",
            "weekdays",
            "start_time",
            "end_time",
            "slot_minutes",
            "capacity_per_slot",
            "valid_from",
            "valid_until",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


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
        fields = [
            "doctor_id",
            "hospital_id",
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
    from_date = serializers.DateField(required=False, help_text="Defaults to today (hospital-local).")
    to_date = serializers.DateField(help_text=f"Inclusive; at most {MAX_GENERATE_DAYS} days after from_date.")

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


# --- Slots -----------------------------------------------------------------------------------


class SlotOut(ModelSerializer):
    hospital_id = serializers.IntegerField(read_only=True)
    doctor_id = serializers.IntegerField(read_only=True)
    opd_schedule_id = serializers.IntegerField(read_only=True, allow_null=True)
    doctor = DoctorBriefOut(read_only=True)
    start = serializers.SerializerMethodField()
    end = serializers.SerializerMethodField()
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
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_start(self, obj) -> str:
        return local_iso(obj.start, obj.hospital.timezone)

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_end(self, obj) -> str:
        return local_iso(obj.end, obj.hospital.timezone)

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


# --- Appointments ----------------------------------------------------------------------------


class PatientBriefOut(ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "fullname", "phone_num"]
        read_only_fields = fields


class AppointmentOut(ModelSerializer):
    patient_id = serializers.IntegerField(read_only=True)
    patient = PatientBriefOut(read_only=True)
    doctor_id = serializers.IntegerField(read_only=True)
    doctor = DoctorBriefOut(read_only=True)
    hospital_id = serializers.IntegerField(read_only=True)
    slot_id = serializers.IntegerField(read_only=True)
    start = serializers.SerializerMethodField()
    end = serializers.SerializerMethodField()

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
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_start(self, obj) -> str:
        return local_iso(obj.slot.start, obj.hospital.timezone)

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_end(self, obj) -> str:
        return local_iso(obj.slot.end, obj.hospital.timezone)


class AppointmentCreateIn(serializers.Serializer):
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


# --- Visits ----------------------------------------------------------------------------------


class PrescriptionSerializer(ModelSerializer):
    class Meta:
        model = Prescription
        fields = ["id", "medicine", "dosage", "frequency", "duration_days", "instructions"]
        read_only_fields = ["id"]


class VisitOut(ModelSerializer):
    appointment_id = serializers.IntegerField(read_only=True, allow_null=True)
    patient_id = serializers.IntegerField(read_only=True)
    doctor_id = serializers.IntegerField(read_only=True)
    hospital_id = serializers.IntegerField(read_only=True)
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
        read_only_fields = fields


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
