"""Floors and wards: the structure of a hospital that beds hang off."""

from rest_framework import serializers

from hms.api.serializers import IdRelatedField, ReadOnlyModelSerializer
from hospitals.models import Floor, Ward, WardType
from hospitals.serializers.hospitals import HospitalIdField


class FloorOut(ReadOnlyModelSerializer):
    class Meta:
        model = Floor
        fields = ["id", "hospital_id", "floor_number", "name"]


class HospitalFloorIn(serializers.Serializer):
    """A floor of the hospital named in the path."""

    floor_number = serializers.CharField(max_length=20)
    name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class FloorIn(HospitalFloorIn):
    hospital_id = HospitalIdField(
        required=False,
        help_text="Defaults to the caller's hospital for a hospital admin.",
    )


class FloorUpdateIn(serializers.Serializer):
    floor_number = serializers.CharField(max_length=20)
    name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    hospital_id = HospitalIdField(required=False, help_text="Cannot change.")


class WardOut(ReadOnlyModelSerializer):
    class Meta:
        model = Ward
        fields = ["id", "hospital_id", "floor_id", "name", "ward_number", "ward_type"]


class WardIn(serializers.Serializer):
    hospital_id = HospitalIdField(
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
