"""Input and output shapes of slot holds (API.md section 17); the rules are in services/holds.py."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from appointments.models import Hold
from appointments.serializers.common import moment_writers, plain_body
from hms.api.serializers import IdField, ReadOnlyModelSerializer, Serializer


class HoldCreateIn(Serializer):
    patient_id = IdField(
        required=False, help_text="Staff only (admin, hospital admin, doctors of the slot's hospital)."
    )

    @staticmethod
    def plain(data) -> dict | None:
        """The validated values of a plain body (no body, `{}`, or an id `patient_id`), as
        `validated_data` holds them; None: validate with the serializer."""
        return plain_body(data, ids=("patient_id",))


class HoldOut(ReadOnlyModelSerializer):
    appointment_id = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="The appointment booked from it (status used)."
    )
    status = serializers.SerializerMethodField()

    shared_fields = True  # the object alone decides the answer

    class Meta:
        model = Hold
        fields = ["id", "slot_id", "patient_id", "hospital_id", "status", "expires_at", "appointment_id", "created_at"]

    @extend_schema_field(serializers.ChoiceField(choices=Hold.Status.choices))
    def get_status(self, obj) -> str:
        """An active hold past `expires_at` is `expired` (its seat is free), whether or not a write has
        settled it yet."""
        return obj.current_status


def hold_out(hold: Hold) -> dict:
    """What HoldOut writes for `hold`, without the serializer's machinery: a hold's answer."""
    expires, created = moment_writers(HoldOut, "expires_at", "created_at")
    return {
        "id": hold.pk,
        "slot_id": hold.slot_id,
        "patient_id": hold.patient_id,
        "hospital_id": hold.hospital_id,
        "status": hold.current_status,
        "expires_at": expires(hold.expires_at),
        "appointment_id": hold.appointment_id,
        "created_at": created(hold.created_at),
    }
