"""Input and output shapes of OPD queues and the public queue board (API.md section 17)."""

from rest_framework import serializers

from appointments.queue_models import OpdQueue, QueueEntry
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


class CallIn(Serializer):
    room = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=50,
        help_text="Where the patient goes; default the entry's or the queue's last room.",
    )


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
