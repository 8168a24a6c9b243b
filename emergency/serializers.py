from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.validators import UniqueValidator

from accounts.models import User
from emergency.models import Ambulance, AmbulanceLocation, Emergency, EmergencyEvent
from hms.api.rawrows import Representation
from hms.api.serializers import (
    IdField,
    LatitudeField,
    LongitudeField,
    OptionalIdField,
    PlaceModelSerializer,
    ReadOnlyModelSerializer,
    validate_coordinates,
)
from hospitals.models import Hospital

# Digits (at least three), an optional leading +, and spaces, dashes, dots, slashes or brackets.
PHONE = RegexValidator(
    r"^\+?[ ()./-]*[0-9][ ()./-]*[0-9][ ()./-]*[0-9][0-9 ()./-]*$",
    "Enter a phone number: digits, optionally a leading + and spaces, dashes or brackets.",
    code="invalid",
)


# --- Ambulances ------------------------------------------------------------------------------


class DriverBrief(ReadOnlyModelSerializer):
    class Meta:
        model = User
        fields = ["id", "fullname", "phone_num"]


class AmbulanceOut(ReadOnlyModelSerializer):
    driver = DriverBrief(read_only=True, allow_null=True)
    current_emergency_id = serializers.SerializerMethodField(
        help_text="The open emergency this ambulance serves, if any."
    )

    class Meta:
        model = Ambulance
        fields = [
            "id",
            "hospital_id",
            "vehicle_number",
            "ambulance_type",
            "driver_id",
            "driver",
            "status",
            "latitude",
            "longitude",
            "location_updated_at",
            "current_emergency_id",
            "created_at",
            "updated_at",
        ]

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_current_emergency_id(self, ambulance) -> int | None:
        if hasattr(ambulance, "current_emergency_id"):
            return ambulance.current_emergency_id
        emergency = (
            Emergency.objects.filter(ambulance=ambulance, status__in=Emergency.OPEN_STATUSES)
            .values_list("pk", flat=True)
            .first()
        )
        return emergency


class AmbulanceIn(PlaceModelSerializer):
    hospital_id = serializers.PrimaryKeyRelatedField(
        source="hospital",
        queryset=Hospital.objects.filter(is_active=True),
        required=False,
        help_text="Required for an administrator; a hospital admin's own hospital by default.",
    )
    vehicle_number = serializers.CharField(
        max_length=32,
        validators=[
            UniqueValidator(
                queryset=Ambulance.objects.all(),
                lookup="iexact",
                message="An ambulance with this vehicle number already exists.",
            )
        ],
    )
    driver_id = serializers.PrimaryKeyRelatedField(
        source="driver", queryset=User.objects.all(), required=False, allow_null=True
    )

    class Meta:
        model = Ambulance
        fields = ["hospital_id", "vehicle_number", "ambulance_type", "driver_id", "latitude", "longitude"]

    def validate_vehicle_number(self, value):
        value = value.strip()
        if not value:
            raise serializers.ValidationError("This field may not be blank.", code="blank")
        return value


class AmbulanceLocationIn(serializers.Serializer):
    latitude = LatitudeField()
    longitude = LongitudeField()


class AmbulanceLocationOut(ReadOnlyModelSerializer):
    class Meta:
        model = AmbulanceLocation
        fields = ["id", "latitude", "longitude", "recorded_at", "recorded_by_id"]


class AmbulanceStatusIn(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=Ambulance.Status.choices,
        help_text="`available` or `out_of_service`; `dispatched` and `busy` follow emergencies only (400).",
    )

    def validate_status(self, value):
        if value not in Ambulance.MANUAL_STATUSES:
            raise serializers.ValidationError(
                "Only available or out_of_service can be set here; dispatched and busy follow emergencies.",
                code="invalid_choice",
            )
        return value


# --- Emergencies -----------------------------------------------------------------------------


class EmergencyEventOut(ReadOnlyModelSerializer):
    class Meta:
        model = EmergencyEvent
        fields = ["at", "status", "actor_id", "note", "from_hospital_id", "to_hospital_id"]


class HospitalBrief(ReadOnlyModelSerializer):
    class Meta:
        model = Hospital
        fields = ["id", "name", "phone", "address", "city", "latitude", "longitude"]


class AmbulanceBrief(ReadOnlyModelSerializer):
    class Meta:
        model = Ambulance
        fields = ["id", "vehicle_number", "ambulance_type", "driver_id", "latitude", "longitude", "location_updated_at"]


class EmergencyOut(ReadOnlyModelSerializer):
    hospital = HospitalBrief(read_only=True, allow_null=True)
    ambulance = AmbulanceBrief(read_only=True, allow_null=True)
    events = EmergencyEventOut(many=True, read_only=True)

    class Meta:
        model = Emergency
        fields = [
            "id",
            "reporter_id",
            "patient_name",
            "contact_number",
            "emergency_type",
            "severity",
            "description",
            "address",
            "latitude",
            "longitude",
            "hospital_id",
            "hospital",
            "ambulance_id",
            "ambulance",
            "status",
            "events",
            "created_at",
            "updated_at",
        ]


# EmergencyOut's answer written from plain rows (the list's page): the same fields' representations,
# without a serializer per emergency and its nested ones. A page row holds the emergency's own columns,
# then its hospital's and its ambulance's (LEFT JOINs: None without one); events come as value lists.
EMERGENCY_NESTED = ("hospital", "ambulance", "events")
EMERGENCY_COLUMNS = [name for name in EmergencyOut.Meta.fields if name not in EMERGENCY_NESTED]
HOSPITAL_BRIEF_COLUMNS = ["hospital_id", *(f"hospital__{name}" for name in HospitalBrief.Meta.fields[1:])]
AMBULANCE_BRIEF_COLUMNS = ["ambulance_id", *(f"ambulance__{name}" for name in AmbulanceBrief.Meta.fields[1:])]
EMERGENCY_ROW_COLUMNS = [*EMERGENCY_COLUMNS, *HOSPITAL_BRIEF_COLUMNS[1:], *AMBULANCE_BRIEF_COLUMNS[1:]]
EMERGENCY_EVENT_FIELDS = EmergencyEventOut.Meta.fields

_EMERGENCY_OUT = Representation(EmergencyOut, EMERGENCY_COLUMNS, dict.fromkeys(EMERGENCY_NESTED))
_HOSPITAL_OUT = Representation(HospitalBrief, HospitalBrief.Meta.fields)
_AMBULANCE_OUT = Representation(AmbulanceBrief, AmbulanceBrief.Meta.fields)
_EVENT_OUT = Representation(EmergencyEventOut, EMERGENCY_EVENT_FIELDS)


def emergencies_out(rows: list[dict], events: dict[int, list]) -> list[dict]:
    """EmergencyOut's dicts of page rows (EMERGENCY_ROW_COLUMNS) and their events (emergency id -> value
    lists in EMERGENCY_EVENT_FIELDS' order, oldest first)."""
    out = []
    for row in rows:
        item = _EMERGENCY_OUT([row[name] for name in EMERGENCY_COLUMNS])
        if row["hospital_id"] is not None:
            item["hospital"] = _HOSPITAL_OUT([row[name] for name in HOSPITAL_BRIEF_COLUMNS])
        if row["ambulance_id"] is not None:
            item["ambulance"] = _AMBULANCE_OUT([row[name] for name in AMBULANCE_BRIEF_COLUMNS])
        item["events"] = [_EVENT_OUT(values) for values in events.get(row["id"], ())]
        out.append(item)
    return out


class EmergencyIn(serializers.Serializer):
    patient_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    contact_number = serializers.CharField(max_length=32, validators=[PHONE], help_text="A phone number to call back.")
    emergency_type = serializers.ChoiceField(choices=Emergency.EmergencyType.choices)
    severity = serializers.ChoiceField(choices=Emergency.Severity.choices, required=False)
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    address = serializers.CharField(max_length=500, required=False, allow_blank=True)
    latitude = LatitudeField(required=False, allow_null=True)
    longitude = LongitudeField(required=False, allow_null=True)
    hospital_id = serializers.PrimaryKeyRelatedField(
        source="hospital",
        queryset=Hospital.objects.filter(is_active=True),
        required=False,
        allow_null=True,
        help_text="Without it, coordinates assign the nearest active hospital with emergency services.",
    )

    def validate(self, attrs):
        validate_coordinates(attrs)
        attrs["address"] = attrs.get("address", "").strip()
        if attrs.get("latitude") is None and not attrs["address"]:
            message = "Give the location: latitude and longitude, or an address."
            raise serializers.ValidationError(
                {"latitude": [message], "longitude": [message], "address": [message]}, code="required"
            )
        return attrs


class EmergencyDispatchIn(serializers.Serializer):
    ambulance_id = OptionalIdField(
        help_text="Without it, the nearest available ambulance of the emergency's hospital is sent."
    )


class EmergencyStatusIn(serializers.Serializer):
    status = serializers.ChoiceField(choices=Emergency.Status.choices)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class EmergencyForwardIn(serializers.Serializer):
    hospital_id = IdField()
    reason = serializers.CharField(max_length=500)
