"""Maintained counters behind the admin and hospital-admin dashboards (PostgreSQL; see dashboard/counters.py).

Database triggers on the counted tables append signed deltas to `CounterDelta` in the same transaction as
the change (append-only: concurrent bookings never wait on a shared counter row); `fold()` moves them into
`CounterBase`, one row per (metric, scope, bucket, key). A figure is the SUM over both tables.
"""

from django.db import models


class CounterFields(models.Model):
    # users, beds, appointments, blood, emergencies, ambulances
    metric = models.CharField(max_length=16)
    # 0: the whole network; else the hospital (blood: the blood bank) the rows belong to
    scope = models.IntegerField()
    # appointments: the slot start's 15-minute bucket (epoch seconds); blood: expiry day (days since epoch)
    bucket = models.BigIntegerField(default=0)
    key = models.CharField(max_length=32)  # the status, role, severity or blood group counted
    n = models.BigIntegerField()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.metric}[{self.scope}, {self.bucket}, {self.key}] {self.n:+d}"


class CounterBase(CounterFields):
    class Meta:
        # On PostgreSQL the constraint's index also carries `n` (INCLUDE, migration 0003), so that the
        # dashboard's read is index-only.
        constraints = [models.UniqueConstraint(fields=["metric", "scope", "bucket", "key"], name="counter_base_key")]


class CounterDelta(CounterFields):
    id = models.BigAutoField(primary_key=True)

    class Meta:
        indexes = [models.Index(fields=["metric", "scope", "bucket"], name="counter_delta_lookup")]
