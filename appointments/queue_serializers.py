"""Input and output shapes of OPD queues and the public queue board (API.md section 17)."""

from rest_framework import serializers

from appointments.queue_models import OpdQueue, QueueEntry
from appointments.serializers.common import moment_writers, plain_body
from hms.api.serializers import IdField, ReadOnlyModelSerializer, Serializer


class QueueCreateIn(serializers.Serializer):
    doctor_id = IdField()
    date = serializers.DateField(help_text="The hospital-local date of the queue (YYYY-MM-DD).")


class OpdQueueOut(ReadOnlyModelSerializer):
    now_serving = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="The token of the latest called entry still being served."
    )
    waiting = serializers.IntegerField(read_only=True, help_text="How many entries are waiting.")
    room = serializers.CharField(read_only=True, help_text="The room of the latest call.")

    class Meta:
        model = OpdQueue
        fields = ["id", "doctor_id", "hospital_id", "date", "now_serving", "waiting", "room", "created_at"]


class QueueEntryIn(serializers.Serializer):
    patient_id = IdField(required=False, help_text="A registered patient; else give `name`.")
    name = serializers.CharField(
        required=False, allow_blank=True, max_length=200, help_text="A walk-in without an account."
    )
    priority = serializers.ChoiceField(choices=QueueEntry.Priority.choices, default=QueueEntry.Priority.NORMAL)

    def validate(self, attrs):
        if "patient_id" not in attrs and not attrs.get("name", "").strip():
            raise serializers.ValidationError(
                {"name": ["Give the patient's `patient_id` or a `name`."]}, code="required"
            )
        return attrs


class QueueEntryOut(ReadOnlyModelSerializer):
    shared_fields = True  # the object alone decides the answer

    class Meta:
        model = QueueEntry
        fields = [
            "id",
            "queue_id",
            "token",
            "appointment_id",
            "patient_id",
            "name",
            "priority",
            "status",
            "room",
            "called_at",
            "created_at",
        ]


def queue_entry_out(entry: QueueEntry) -> dict:
    """What QueueEntryOut writes for `entry`, without the serializer's machinery: call-next's answer."""
    called, created = moment_writers(QueueEntryOut, "called_at", "created_at")
    return {
        "id": entry.pk,
        "queue_id": entry.queue_id,
        "token": entry.token,
        "appointment_id": entry.appointment_id,
        "patient_id": entry.patient_id,
        "name": entry.name,
        "priority": entry.priority,
        "status": entry.status,
        "room": entry.room,
        "called_at": called(entry.called_at) if entry.called_at is not None else None,
        "created_at": created(entry.created_at),
    }


ROOM_MAX_LENGTH = 50


class CallIn(Serializer):
    room = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=ROOM_MAX_LENGTH,
        help_text="Where the patient goes; default the entry's or the queue's last room.",
    )

    @staticmethod
    def plain(data) -> dict | None:
        """The validated values of a plain body (no body, `{}`, or a plain `room`: `common.plain_body`),
        as `validated_data` holds them; None: validate with the serializer."""
        return plain_body(data, texts={"room": ROOM_MAX_LENGTH})


class BoardDoctorOut(serializers.Serializer):
    id = serializers.IntegerField()
    fullname = serializers.CharField()
    specialization = serializers.CharField()
    department = serializers.CharField()


class BoardQueueOut(serializers.Serializer):
    doctor_id = serializers.IntegerField()
    doctor = BoardDoctorOut()
    room = serializers.CharField()
    now_serving = serializers.IntegerField(allow_null=True)
    waiting = serializers.IntegerField()


class QueueBoardOut(serializers.Serializer):
    hospital_id = serializers.IntegerField()
    date = serializers.DateField(help_text="The hospital's local date today.")
    queues = BoardQueueOut(many=True)
