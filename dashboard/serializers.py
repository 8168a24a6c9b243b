from rest_framework import serializers

from accounts.models import Activity, User
from hms.api.serializers import ModelSerializer


class ActivityOut(ModelSerializer):
    actor_id = serializers.IntegerField(read_only=True, allow_null=True)
    patient_id = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = Activity
        fields = [
            "id",
            "at",
            "actor_id",
            "actor_name",
            "actor_role",
            "action",
            "object_type",
            "object_id",
            "patient_id",
            "ip",
            "request_id",
            "detail",
        ]
        read_only_fields = fields


class MyRecordAccessOut(ModelSerializer):
    class Meta:
        model = Activity
        fields = ["at", "actor_name", "actor_role", "action", "object_type", "object_id"]
        read_only_fields = fields


class SystemStatusOut(serializers.Serializer):
    version = serializers.CharField()
    uptime_seconds = serializers.FloatField()
    database = serializers.DictField()
    row_counts = serializers.DictField(child=serializers.IntegerField())


class DashboardOut(serializers.Serializer):
    """`role` and `as_of`, then the figures of that role (see the operation description)."""

    role = serializers.ChoiceField(choices=User.Role.choices)
    as_of = serializers.DateTimeField()
