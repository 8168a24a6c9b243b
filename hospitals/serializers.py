"""Input validation and output shapes for hospitals, floors, wards, beds and admissions."""

import zoneinfo

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import User
from accounts.serializers import StaffAccountIn, UserOut
from hms.api.serializers import (
    IdField,
    IdRelatedField,
    LatitudeField,
    LongitudeField,
    ModelSerializer,
    validate_coordinates,
)
from hospitals.access import is_staff_of
from hospitals.models import (
    MAX_RESERVATION,
    Admission,
    Bed,
    BedStatus,
    BedType,
    Floor,
    Hospital,
    Ward,
    WardType,
    validate_timezone,
)


@extend_schema_field(
    {"type": "string", "enum": sorted(zoneinfo.available_timezones()), "description": "An IANA time zone name."},
    component_name="TimeZone",
)
class TimeZoneField(serializers.CharField):
    """An IANA time zone name; the schema lists the names the server knows (as `validate_timezone` does)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("validators", [validate_timezone])
        super().__init__(**kwargs)


# --- Hospitals --------------------------------------------------------------------------------

HOSPITAL_FIELDS = [
    "id",
    "name",
    "registration_number",
    "hospital_type",
    "address",
    "city",
    "state",
    "country",
    "postal_code",
    "phone",
    "email",
    "latitude",
    "longitude",
    "timezone",
    "is_multi_level",
    "opd_status",
    "emergency_services",
    "is_active",
    "created_at",
    "updated_at",
]


class HospitalIn(ModelSerializer):
    """The writable fields of a hospital (`is_active` only by an administrator)."""

    latitude = LatitudeField(required=False, allow_null=True)
    longitude = LongitudeField(required=False, allow_null=True)
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True)
    timezone = TimeZoneField(required=False)

    class Meta:
        model = Hospital
        fields = [f for f in HOSPITAL_FIELDS if f not in ("id", "created_at", "updated_at")]

    def validate(self, attrs):
        validate_coordinates(attrs, self.instance)
        return attrs


class HospitalCreateIn(HospitalIn):
    admin = StaffAccountIn(
        required=False,
        allow_null=True,
        help_text="Creates this hospital's hospital_admin account in the same transaction.",
    )

    class Meta(HospitalIn.Meta):
        fields = [*HospitalIn.Meta.fields, "admin"]


class HospitalOut(ModelSerializer):
    distance_km = serializers.SerializerMethodField(
        help_text="Great-circle distance from `near`, in km; null when `near` is not given."
    )

    class Meta:
        model = Hospital
        fields = [*HOSPITAL_FIELDS, "distance_km"]
        read_only_fields = fields

    def get_distance_km(self, obj) -> float | None:
        distance = getattr(obj, "distance_km", None)
        return None if distance is None else round(distance, 3)


def _counts_serializer(name: str, with_total: bool):
    fields = {status: serializers.IntegerField() for status in BedStatus.values}
    if with_total:
        fields = {"total": serializers.IntegerField(), **fields}
    return type(name, (serializers.Serializer,), fields)


BedCountsByStatus = _counts_serializer("BedCountsByStatus", with_total=False)
BedCountsOfWardType = _counts_serializer("BedCountsOfWardType", with_total=True)
BedCountsByWardType = type(
    "BedCountsByWardType",
    (serializers.Serializer,),
    {ward_type: BedCountsOfWardType() for ward_type in WardType.values},
)
BedCountsOfBedType = type(
    "BedCountsOfBedType",
    (serializers.Serializer,),
    {
        "__doc__": "Beds of one type: `total` (every bed, cleaning ones too), `free` (available), occupied, "
        "reserved, maintenance.",
        "total": serializers.IntegerField(),
        "free": serializers.IntegerField(help_text="Available beds (a lapsed reservation counts as available)."),
        "occupied": serializers.IntegerField(),
        "reserved": serializers.IntegerField(help_text="Reserved and not lapsed."),
        "maintenance": serializers.IntegerField(),
    },
)
BedCountsByBedType = type(
    "BedCountsByBedType",
    (serializers.Serializer,),
    {bed_type: BedCountsOfBedType() for bed_type in BedType.values},
)


class BedSummaryOut(serializers.Serializer):
    """Beds of a hospital counted by status, by ward type and by bed type, from the current rows.

    A reservation whose `until` has passed counts as available, whether or not anything has run since.
    Every status, ward type and bed type is present (zeros included).
    """

    hospital_id = serializers.IntegerField()
    as_of = serializers.DateTimeField()
    total = serializers.IntegerField()
    by_status = BedCountsByStatus()
    by_ward_type = BedCountsByWardType()
    by_bed_type = BedCountsByBedType(
        help_text="Per bed type (general, icu, hdu, oxygen, ventilator, isolation, pediatric, maternity): "
        "`{total, free, occupied, reserved, maintenance}`."
    )


class HospitalDetailOut(HospitalOut):
    bed_summary = serializers.SerializerMethodField()

    class Meta(HospitalOut.Meta):
        fields = [*HospitalOut.Meta.fields, "bed_summary"]
        read_only_fields = fields

    @extend_schema_field(BedSummaryOut)
    def get_bed_summary(self, obj):
        from hospitals.selectors import bed_summary

        return bed_summary(hospital_id=obj.pk)


class HospitalCreatedOut(HospitalDetailOut):
    admin = serializers.SerializerMethodField(help_text="The hospital admin created with it, if any.")

    class Meta(HospitalDetailOut.Meta):
        fields = [*HospitalDetailOut.Meta.fields, "admin"]
        read_only_fields = fields

    @extend_schema_field(UserOut(allow_null=True))
    def get_admin(self, obj):
        admin = self.context.get("admin")
        return UserOut(admin).data if admin is not None else None


# --- Floors and wards -------------------------------------------------------------------------


class FloorOut(ModelSerializer):
    hospital_id = serializers.IntegerField(read_only=True)

    class Meta:
        model = Floor
        fields = ["id", "hospital_id", "floor_number", "name"]
        read_only_fields = fields


class HospitalFloorIn(serializers.Serializer):
    """A floor of the hospital named in the path."""

    floor_number = serializers.CharField(max_length=20)
    name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class FloorIn(HospitalFloorIn):
    hospital_id = IdRelatedField(
        source="hospital",
        queryset=Hospital.objects.all(),
        required=False,
        help_text="Defaults to the caller's hospital for a hospital admin.",
    )


class FloorUpdateIn(serializers.Serializer):
    floor_number = serializers.CharField(max_length=20)
    name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    hospital_id = IdRelatedField(
        source="hospital", queryset=Hospital.objects.all(), required=False, help_text="Cannot change."
    )


class WardOut(ModelSerializer):
    hospital_id = serializers.IntegerField(read_only=True)
    floor_id = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = Ward
        fields = ["id", "hospital_id", "floor_id", "name", "ward_number", "ward_type"]
        read_only_fields = fields


class WardIn(serializers.Serializer):
    hospital_id = IdRelatedField(
        source="hospital",
        queryset=Hospital.objects.all(),
        required=False,
        help_text="Defaults to the floor's hospital, or to the caller's hospital for a hospital admin.",
    )
    floor_id = IdRelatedField(
        source="floor",
        queryset=Floor.objects.all(),
        required=False,
        allow_null=True,
        help_text="Required in a multi-level hospital; must be null in a single-level one.",
    )
    name = serializers.CharField(max_length=100)
    ward_number = serializers.CharField(max_length=20, required=False, allow_blank=True)
    ward_type = serializers.ChoiceField(choices=WardType.choices, required=False)


# --- Beds and admissions ----------------------------------------------------------------------


class CurrentAdmissionOut(ModelSerializer):
    patient_id = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = Admission
        fields = ["id", "patient_id", "patient_name", "reason", "admitted_at"]
        read_only_fields = fields


class BedReservationOut(serializers.Serializer):
    patient_id = serializers.IntegerField(source="reserved_for_id")
    until = serializers.DateTimeField(source="reserved_until")
    reason = serializers.CharField(source="reservation_reason")


class BedOut(ModelSerializer):
    ward_id = serializers.IntegerField(read_only=True)
    hospital_id = serializers.IntegerField(read_only=True)
    status = serializers.ChoiceField(
        source="shown_status",
        choices=BedStatus.choices,
        read_only=True,
        help_text="`available` again once a reservation's `until` has passed.",
    )
    ward_type = serializers.ChoiceField(source="ward.ward_type", choices=WardType.choices, read_only=True)
    current_admission = serializers.SerializerMethodField(
        help_text="The active admission; shown only to staff of the bed's hospital and to administrators."
    )
    reservation = serializers.SerializerMethodField(
        help_text="The patient this bed is held for, until when and why (null when none, or lapsed); "
        "shown only to staff of the bed's hospital and to administrators."
    )

    class Meta:
        model = Bed
        fields = [
            "id",
            "ward_id",
            "hospital_id",
            "bed_number",
            "bed_type",
            "status",
            "ward_type",
            "current_admission",
            "reservation",
        ]
        read_only_fields = fields

    def _shown_to_staff(self, obj) -> bool:
        request = self.context.get("request")
        return request is not None and is_staff_of(request.user, obj.hospital_id)

    @extend_schema_field(BedReservationOut(allow_null=True))
    def get_reservation(self, obj):
        if not self._shown_to_staff(obj) or not obj.holds_reservation():
            return None
        return BedReservationOut(obj).data

    @extend_schema_field(CurrentAdmissionOut(allow_null=True))
    def get_current_admission(self, obj):
        if not self._shown_to_staff(obj):
            return None
        active = getattr(obj, "active_admissions", None)
        if active is None:
            active = list(obj.admissions.filter(discharged_at__isnull=True))
        return CurrentAdmissionOut(active[0]).data if active else None


def _not_occupied(value):
    if value == BedStatus.OCCUPIED:
        raise serializers.ValidationError("A bed becomes occupied only by admitting a patient.", code="invalid_choice")
    return value


class BedIn(serializers.Serializer):
    ward_id = IdRelatedField(source="ward", queryset=Ward.objects.select_related("hospital"))
    bed_number = serializers.CharField(max_length=20)
    bed_type = serializers.ChoiceField(choices=BedType.choices, required=False, help_text="Default `general`.")
    status = serializers.ChoiceField(
        choices=BedStatus.choices,
        required=False,
        validators=[_not_occupied],
        help_text="On creation only; later through POST /beds/{id}/status.",
    )


class BedUpdateIn(serializers.Serializer):
    ward_id = IdRelatedField(source="ward", queryset=Ward.objects.select_related("hospital"))
    bed_number = serializers.CharField(max_length=20)
    bed_type = serializers.ChoiceField(choices=BedType.choices, required=False)

    def validate(self, attrs):
        if "status" in self.initial_data:
            raise serializers.ValidationError(
                {"status": ["Change a bed's status through POST /api/v1/beds/{id}/status."]}, code="read_only"
            )
        return attrs


class BedStatusIn(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=BedStatus.choices,
        validators=[_not_occupied],
        help_text="available, reserved, cleaning or maintenance; `occupied` only by admitting a patient (400).",
    )


class AdmitIn(serializers.Serializer):
    patient_id = IdRelatedField(
        source="patient",
        queryset=User.objects.filter(role=User.Role.USER, is_active=True),
        required=False,
        help_text="A registered patient (an active account with role `user`).",
    )
    patient_name = serializers.CharField(
        max_length=150, required=False, help_text="A walk-in patient without an account."
    )
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")

    def validate(self, attrs):
        if "patient" in attrs and "patient_name" in attrs:
            raise serializers.ValidationError(
                {"patient_name": ["Give patient_id or patient_name, not both."]}, code="invalid"
            )
        if "patient" not in attrs and "patient_name" not in attrs:
            raise serializers.ValidationError(
                {"patient_id": ["Give patient_id (a registered patient) or patient_name (a walk-in)."]},
                code="required",
            )
        return attrs


class ReserveIn(serializers.Serializer):
    patient_id = IdRelatedField(
        source="patient",
        queryset=User.objects.filter(role=User.Role.USER, is_active=True),
        help_text="The registered patient (an active account with role `user`) the bed is held for.",
    )
    until = serializers.DateTimeField(
        help_text=f"When the reservation lapses: in the future, at most {MAX_RESERVATION.days} days ahead (else 400). "
        "From then on the bed counts as available."
    )
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class TransferIn(serializers.Serializer):
    to_bed_id = IdField()


class AdmissionOut(ModelSerializer):
    bed_id = serializers.IntegerField(read_only=True)
    hospital_id = serializers.IntegerField(read_only=True)
    patient_id = serializers.IntegerField(read_only=True, allow_null=True)
    admitted_by_id = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = Admission
        fields = [
            "id",
            "bed_id",
            "hospital_id",
            "patient_id",
            "patient_name",
            "reason",
            "admitted_at",
            "discharged_at",
            "admitted_by_id",
        ]
        read_only_fields = fields
