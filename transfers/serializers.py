from rest_framework import serializers

from accounts.models import User
from hms.api.serializers import IdRelatedField, OptionalIdField, ReadOnlyModelSerializer
from hospitals.models import BedType, Hospital
from hospitals.serializers import HospitalIdField
from transfers.models import Referral, ReferralEvent, Urgency


class ReferralEventOut(ReadOnlyModelSerializer):
    by = serializers.IntegerField(source="actor_id", read_only=True, allow_null=True, help_text="The acting user's id.")

    class Meta:
        model = ReferralEvent
        fields = ["at", "status", "by", "note"]


class ReferralOut(ReadOnlyModelSerializer):
    events = ReferralEventOut(many=True, read_only=True)

    class Meta:
        model = Referral
        fields = [
            "id",
            "patient_id",
            "from_hospital_id",
            "to_hospital_id",
            "reason",
            "urgency",
            "bed_type",
            "status",
            "reserved_bed_id",
            "ambulance_id",
            "requested_by_id",
            "events",
            "created_at",
            "updated_at",
        ]


class ReferralIn(serializers.Serializer):
    patient_id = IdRelatedField(
        source="patient",
        queryset=User.objects.filter(role=User.Role.USER, is_active=True),
        help_text="The registered patient (an active account with role `user`).",
    )
    from_hospital_id = HospitalIdField(
        source="from_hospital",
        required=False,
        help_text="The origin; defaults to the caller's hospital (an administrator names it).",
    )
    to_hospital_id = IdRelatedField(
        source="to_hospital",
        queryset=Hospital.objects.filter(is_active=True),
        help_text="The destination: another active hospital.",
    )
    reason = serializers.CharField(max_length=1000)
    urgency = serializers.ChoiceField(choices=Urgency.choices, required=False, default=Urgency.ROUTINE)
    bed_type = serializers.ChoiceField(
        choices=BedType.choices,
        required=False,
        default=BedType.GENERAL,
        help_text="The kind of bed the destination must hold on accepting.",
    )


class AcceptIn(serializers.Serializer):
    bed_id = OptionalIdField(
        help_text="A free bed of the referral's bed_type at the destination; without it, the first free one."
    )


class ReasonIn(serializers.Serializer):
    reason = serializers.CharField(max_length=1000)


class DispatchIn(serializers.Serializer):
    ambulance_id = OptionalIdField(
        help_text="An available ambulance of either hospital; without it, the available one nearest the origin."
    )
