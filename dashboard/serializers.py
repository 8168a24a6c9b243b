from rest_framework import serializers

from accounts.models import Activity, User
from hms.api.serializers import ReadOnlyModelSerializer
from hms.jobs.schedules import ScheduleSource
from hms.models import JobRun


class ActivityOut(ReadOnlyModelSerializer):
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


class MyRecordAccessOut(ReadOnlyModelSerializer):
    class Meta:
        model = Activity
        fields = ["at", "actor_name", "actor_role", "action", "object_type", "object_id"]


class BrokenLinkOut(serializers.Serializer):
    id = serializers.IntegerField(
        allow_null=True, help_text="The entry where the chain breaks (null: entries missing at a chain's end)."
    )
    at = serializers.DateTimeField(allow_null=True)
    chain = serializers.IntegerField()
    position = serializers.IntegerField()
    problem = serializers.ChoiceField(
        choices=["altered", "missing_before", "relinked", "missing_tail"],
        help_text="altered: the entry's content no longer matches its hash; missing_before: entries before it "
        "were removed; relinked: its link to the previous entry was rewritten; missing_tail: the chain no "
        "longer ends where its head says.",
    )


class ChainHeadOut(serializers.Serializer):
    chain = serializers.IntegerField()
    position = serializers.IntegerField()
    hash = serializers.CharField()


class AuditVerificationOut(serializers.Serializer):
    ok = serializers.BooleanField(allow_null=True, help_text="null where chains are not kept (SQLite).")
    checked = serializers.IntegerField(help_text="Entries whose links were recomputed.")
    unchained = serializers.IntegerField(allow_null=True, help_text="Entries written before the chains existed.")
    first_broken = BrokenLinkOut(allow_null=True)
    heads = ChainHeadOut(many=True)


class JobScheduleOut(serializers.Serializer):
    source = serializers.ChoiceField(
        choices=ScheduleSource.choices,
        help_text="`beat`: the job's periodic task in the database (an admin may change it in the Django "
        "admin); `default`: no periodic task yet, the interval the job is registered with.",
    )
    every_seconds = serializers.IntegerField(allow_null=True, help_text="Null when the task runs on a crontab.")
    crontab = serializers.CharField(allow_null=True, help_text="`minute hour day month weekday`, or null.")
    enabled = serializers.BooleanField()
    last_sent_at = serializers.DateTimeField(allow_null=True, help_text="When beat last sent the job to the queue.")


class JobRunOut(serializers.Serializer):
    at = serializers.DateTimeField(source="started_at")
    finished_at = serializers.DateTimeField(allow_null=True, help_text="Null while running or when cut off.")
    ok = serializers.BooleanField(allow_null=True)
    trigger = serializers.ChoiceField(choices=JobRun.Trigger.choices)
    duration_seconds = serializers.FloatField(allow_null=True)
    result = serializers.JSONField(allow_null=True, help_text='The job\'s summary, e.g. `{"marked": 3}`.')
    error = serializers.CharField(help_text="Empty unless the run failed.")


class JobStatusOut(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()
    schedule = JobScheduleOut()
    last_run = JobRunOut(allow_null=True)


class JobQueueOut(serializers.Serializer):
    name = serializers.CharField()
    broker = serializers.CharField(help_text="The broker's transport (redis, filesystem, ...), never its address.")
    depth = serializers.IntegerField(
        allow_null=True, help_text="Messages waiting (Redis `LLEN`); null when the broker cannot be asked."
    )


class ReplicaStatusOut(serializers.Serializer):
    lag_seconds = serializers.FloatField(
        allow_null=True, help_text="How far the replica's replay is behind; null when it cannot be measured."
    )
    reachable = serializers.BooleanField()
    link_lost = serializers.BooleanField(
        help_text="Reachable, but its WAL receiver is not streaming from the primary: it receives no new "
        "writes, so its lag cannot be measured (null) and it is not used."
    )
    in_use = serializers.BooleanField(
        help_text="Opted-in public reads go there now: reachable and lag within REPLICA_MAX_LAG_SECONDS."
    )


class DatabaseStatusOut(serializers.Serializer):
    vendor = serializers.CharField()
    latency_ms = serializers.FloatField(help_text="One `SELECT 1` on the primary.")
    replica = ReplicaStatusOut(
        allow_null=True, help_text='The read replica (README, "Read replica"); null when none is configured.'
    )


class SystemStatusOut(serializers.Serializer):
    version = serializers.CharField()
    uptime_seconds = serializers.FloatField()
    database = DatabaseStatusOut()
    row_counts = serializers.DictField(child=serializers.IntegerField())
    jobs = JobStatusOut(many=True, help_text="Every scheduled job (API.md section 16), by name.")
    queue = JobQueueOut()


class DashboardOut(serializers.Serializer):
    """`role` and `as_of`, then the figures of that role (see the operation description)."""

    role = serializers.ChoiceField(choices=User.Role.choices)
    as_of = serializers.DateTimeField()
