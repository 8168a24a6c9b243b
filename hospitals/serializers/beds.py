"""Beds (their operations and reservations) and admissions."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import User
from hms.api.serializers import IdField, IdRelatedField, ReadOnlyModelSerializer
from hospitals.access import is_staff_of
from hospitals.models import MAX_RESERVATION, Admission, Bed, BedStatus, BedType, Ward, WardType


class CurrentAdmissionOut(ReadOnlyModelSerializer):
    class Meta:
        model = Admission
        fields = ["id", "patient_id", "patient_name", "reason", "admitted_at"]


class BedReservationOut(serializers.Serializer):
    patient_id = serializers.IntegerField(source="reserved_for_id")
    until = serializers.DateTimeField(source="reserved_until")
    reason = serializers.CharField(source="reservation_reason")


class BedOut(ReadOnlyModelSerializer):
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


class AdmissionOut(ReadOnlyModelSerializer):
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
