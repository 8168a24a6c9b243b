"""Health checks and JSON answers for errors raised outside DRF."""

import time

from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view, authentication_classes, permission_classes, throttle_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from hms.api.middleware import error_response

STARTED_AT = time.monotonic()

HealthOut = inline_serializer("Health", {"status": serializers.CharField()})
ReadyOut = inline_serializer(
    "Readiness",
    {"status": serializers.CharField(), "checks": serializers.DictField(child=serializers.CharField())},
)


@extend_schema(tags=["health"], responses={200: HealthOut}, auth=[])
@api_view(["GET", "HEAD"])
@authentication_classes([])
@permission_classes([AllowAny])
@throttle_classes([])
def health(request):
    """Liveness: the process answers. Touches no database."""
    return Response({"status": "ok"})


def _unapplied_migrations() -> int:
    executor = MigrationExecutor(connection)
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))


@extend_schema(tags=["health"], responses={200: ReadyOut, 503: ReadyOut}, auth=[])
@api_view(["GET", "HEAD"])
@authentication_classes([])
@permission_classes([AllowAny])
@throttle_classes([])
def ready(request):
    """Readiness: the database answers and every migration is applied; else 503 naming the failed check."""
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except DatabaseError:
        checks["database"] = "unreachable"
        checks["migrations"] = "unknown"
    if checks["database"] == "ok":
        try:
            pending = _unapplied_migrations()
            checks["migrations"] = "ok" if pending == 0 else f"{pending} unapplied"
        except DatabaseError:
            checks["migrations"] = "unknown"
    healthy = all(value == "ok" for value in checks.values())
    return Response({"status": "ok" if healthy else "unavailable", "checks": checks}, status=200 if healthy else 503)


def not_found(request, exception=None):
    return error_response(404, "not_found", "No such resource.")


def server_error(request):
    return error_response(500, "error", "Server error.", "server_error")


def bad_request(request, exception=None):
    return error_response(400, "bad_request", "Bad request.")


def permission_denied(request, exception=None):
    return error_response(403, "permission_denied", "You do not have permission to perform this action.")
