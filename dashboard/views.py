import hmac
import time

from django.conf import settings
from django.db import connection
from django_prometheus.exports import ExportToDjangoView
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken

from accounts import audit_chain
from accounts.activity import ExportMixin
from accounts.authentication import JWTAuthentication
from accounts.models import Activity
from dashboard import selectors
from dashboard.filters import ActivityFilter
from dashboard.serializers import (
    ActivityOut,
    AuditVerificationOut,
    DashboardOut,
    JobStatusOut,
    MyRecordAccessOut,
    SystemStatusOut,
)
from hms import __version__, db_router
from hms.api.middleware import error_response
from hms.api.permissions import IsAdminRole
from hms.api.roles import Role
from hms.api.views import STARTED_AT, not_found


@extend_schema(tags=["activity"])
class ActivityViewSet(ExportMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The audit trail (admin only; read-only). Newest first."""

    queryset = Activity.objects.all().order_by("-at", "-id")
    serializer_class = ActivityOut
    permission_classes = [IsAdminRole]
    filterset_class = ActivityFilter
    ordering_fields = ["at", "id"]
    export_name = "activity"
    export_window = (("from",), ("to",))

    @extend_schema(responses={200: MyRecordAccessOut(many=True)})
    @action(
        detail=False,
        methods=["get"],
        url_path="my-records",
        permission_classes=[IsAuthenticated],
        serializer_class=MyRecordAccessOut,
        filterset_class=None,
    )
    def my_records(self, request):
        """Who read or changed the caller's own records, and when."""
        queryset = self.filter_queryset(Activity.objects.filter(patient_id=request.user.pk).order_by("-at", "-id"))
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(MyRecordAccessOut(page, many=True).data)

    @extend_schema(responses={200: AuditVerificationOut})
    @action(
        detail=False, methods=["get"], url_path="verify", serializer_class=AuditVerificationOut, filterset_class=None
    )
    def verify(self, request):
        """Recompute the audit log's hash chains (admin): `ok`, how many entries were checked, and the
        first broken link (an edited entry, a missing one, or a chain that no longer ends at its head),
        with the chains' heads to keep elsewhere as an anchor. PostgreSQL only (`ok: null` on SQLite)."""
        return Response({**audit_chain.verify(), "heads": audit_chain.heads()})


class SystemStatusView(APIView):
    """Version, uptime, database latency and the read replica's lag, row counts, and the scheduled jobs:
    each job's schedule and last run, and the depth of the job queue (admin)."""

    permission_classes = [IsAdminRole]

    @extend_schema(tags=["system"], responses={200: SystemStatusOut})
    def get(self, request):
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        latency_ms = (time.perf_counter() - started) * 1000
        return Response(
            {
                "version": __version__,
                "uptime_seconds": round(time.monotonic() - STARTED_AT, 1),
                "database": {
                    "vendor": connection.vendor,
                    "latency_ms": round(latency_ms, 2),
                    "replica": _replica_status(),
                },
                "row_counts": selectors.row_counts(),
                "jobs": JobStatusOut(selectors.jobs_status(), many=True).data,
                "queue": selectors.queue_status(),
            }
        )


def _replica_status() -> dict | None:
    health = db_router.replica_health(fresh=True)
    if health is None:
        return None
    return {
        "lag_seconds": health.lag_seconds,
        "reachable": health.reachable,
        "link_lost": health.link_lost,
        "in_use": health.usable,
    }


def _metrics_allowed(request) -> bool:
    token = settings.METRICS_TOKEN
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].encode(), token.encode()):
        return True
    try:
        result = JWTAuthentication().authenticate(request)
    except (AuthenticationFailed, InvalidToken):
        return False
    return bool(result) and result[0].role == Role.ADMIN


def metrics(request):
    """Prometheus text (aggregated across gunicorn workers): an admin token or METRICS_TOKEN only."""
    if not settings.METRICS_ENABLED:
        return not_found(request)
    if not _metrics_allowed(request):
        return error_response(401, "not_authenticated", "Metrics need an admin token or the metrics token.")
    return ExportToDjangoView(request)


class DashboardView(APIView):
    """Live figures for the caller's role; a constant number of SQL queries whatever the data size."""

    @extend_schema(tags=["dashboard"], responses={200: DashboardOut})
    def get(self, request):
        return Response(selectors.dashboard_for(request.user))
