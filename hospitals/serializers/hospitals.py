"""Hospitals: their fields, the bed summary (availability and the detail's `bed_summary`), creation with an admin."""

import zoneinfo

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.serializers import StaffAccountIn, UserOut
from hms.api.serializers import (
    IdRelatedField,
    PlaceModelSerializer,
    ReadOnlyModelSerializer,
)
from hospitals.models import BedStatus, BedType, Hospital, WardType, validate_timezone


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


def HospitalIdField(source: str = "hospital", **kwargs):  # noqa: N802 - reads like a field class
    """A hospital named by its id in a body: any hospital, active or not (which ones the caller may use
    is the service's rule); an id naming none is a 400 on the field."""
    return IdRelatedField(source=source, queryset=Hospital.objects.all(), **kwargs)


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


class HospitalIn(PlaceModelSerializer):
    """The writable fields of a hospital (`is_active` only by an administrator)."""

    email = serializers.EmailField(max_length=254, required=False, allow_blank=True)
    timezone = TimeZoneField(required=False)

    class Meta:
        model = Hospital
        fields = [f for f in HOSPITAL_FIELDS if f not in ("id", "created_at", "updated_at")]


class HospitalCreateIn(HospitalIn):
    admin = StaffAccountIn(
        required=False,
        allow_null=True,
        help_text="Creates this hospital's hospital_admin account in the same transaction.",
    )

    class Meta(HospitalIn.Meta):
        fields = [*HospitalIn.Meta.fields, "admin"]


class HospitalOut(ReadOnlyModelSerializer):
    distance_km = serializers.SerializerMethodField(
        help_text="Great-circle distance from `near`, in km; null when `near` is not given."
    )

    class Meta:
        model = Hospital
        fields = [*HOSPITAL_FIELDS, "distance_km"]

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

    @extend_schema_field(BedSummaryOut)
    def get_bed_summary(self, obj):
        from hospitals.selectors import bed_summary

        return bed_summary(hospital_id=obj.pk)


class HospitalCreatedOut(HospitalDetailOut):
    admin = serializers.SerializerMethodField(help_text="The hospital admin created with it, if any.")

    class Meta(HospitalDetailOut.Meta):
        fields = [*HospitalDetailOut.Meta.fields, "admin"]

    @extend_schema_field(UserOut(allow_null=True))
    def get_admin(self, obj):
        admin = self.context.get("admin")
        return UserOut(admin).data if admin is not None else None
