"""Input and output shapes of the waitlist and doctor leave (API.md section 17); the rules are in
services/waitlist.py and services/leave.py."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from appointments.waitlist_models import DoctorLeave, WaitlistEntry
from hms.api.serializers import IdField, ReadOnlyModelSerializer


class WaitlistCreateIn(serializers.Serializer):
    doctor_id = IdField()
    date = serializers.DateField(help_text="The hospital's local date.")
    from_time = serializers.TimeField(
        required=False, allow_null=True, help_text="Only slots starting at or after this local time."
    )
    to_time = serializers.TimeField(required=False, allow_null=True, help_text="Only slots starting before this.")
    patient_id = IdField(
        required=False, help_text="Staff only (admin, hospital admin, doctors of the doctor's hospital)."
    )


class WaitlistOfferOut(serializers.Serializer):
    hold_id = serializers.IntegerField()
    slot_id = serializers.IntegerField()
    expires_at = serializers.DateTimeField()


class WaitlistOut(ReadOnlyModelSerializer):
    status = serializers.SerializerMethodField()
    position = serializers.SerializerMethodField()
    offer = serializers.SerializerMethodField()

    class Meta:
        model = WaitlistEntry
        fields = [
            "id",
            "patient_id",
            "doctor_id",
            "hospital_id",
            "date",
            "from_time",
            "to_time",
            "status",
            "position",
            "offer",
            "created_at",
        ]

    @extend_schema_field(serializers.ChoiceField(choices=WaitlistEntry.Status.choices))
    def get_status(self, obj) -> str:
        """An offer whose hold has lapsed shows `expired`, whether or not the job has run yet."""
        return obj.current_status

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_position(self, obj) -> int | None:
        """1 for the next in line of the doctor and date (waiting entries only; windows aside)."""
        if obj.current_status != WaitlistEntry.Status.WAITING:
            return None
        ahead = getattr(obj, "ahead", None)
        if ahead is None:
            ahead = WaitlistEntry.objects.filter(
                doctor_id=obj.doctor_id, date=obj.date, status=WaitlistEntry.Status.WAITING, pk__lt=obj.pk
            ).count()
        return ahead + 1

    @extend_schema_field(WaitlistOfferOut(allow_null=True))
    def get_offer(self, obj) -> dict | None:
        """The seat kept for the patient while the entry is `offered`: book it with `POST /appointments
        {hold_id}`, decline it with `DELETE /holds/{hold_id}`."""
        if obj.current_status != WaitlistEntry.Status.OFFERED:
            return None
        return {"hold_id": obj.hold_id, "slot_id": obj.hold.slot_id, "expires_at": obj.hold.expires_at}


class LeaveCreateIn(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    cancel_bookings = serializers.BooleanField(
        required=False,
        default=False,
        help_text='Cancel the active bookings inside (`cancel_reason: "doctor unavailable"`); without it '
        "they refuse the leave (409 leave_has_bookings).",
    )


class LeaveOut(ReadOnlyModelSerializer):
    closed_slot_ids = serializers.SerializerMethodField()

    class Meta:
        model = DoctorLeave
        fields = ["id", "doctor_id", "start", "end", "reason", "created_at", "closed_slot_ids"]

    def get_closed_slot_ids(self, obj) -> list[int]:
        """The slots this leave closed (reopened if it is deleted before it starts)."""
        return sorted(slot.pk for slot in obj.closed_slots.all())


class LeaveCreatedOut(LeaveOut):
    cancelled_appointment_ids = serializers.SerializerMethodField()

    class Meta(LeaveOut.Meta):
        fields = [*LeaveOut.Meta.fields, "cancelled_appointment_ids"]
        read_only_fields = fields

    def get_cancelled_appointment_ids(self, obj) -> list[int]:
        return self.context.get("cancelled", [])


class LeaveBookingOut(serializers.Serializer):
    appointment_id = serializers.IntegerField()
    slot_id = serializers.IntegerField()
    start = serializers.DateTimeField()
    patient_id = serializers.IntegerField()
    patient = serializers.CharField(help_text="The patient's full name.")
    status = serializers.CharField()


class LeaveErrorItem(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True)


class LeaveConflictOut(serializers.Serializer):
    """409: the standard error shape, plus `bookings` when the code is `leave_has_bookings`."""

    type = serializers.CharField()
    errors = LeaveErrorItem(many=True)
    bookings = LeaveBookingOut(many=True, required=False)
