from django.db import connections, router
from django.db.models import OuterRef, Subquery
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny, IsAuthenticated

from accounts.activity import ExportMixin
from emergency import ambulances, serializers, services
from emergency.filters import AmbulanceFilter, EmergencyFilter
from emergency.models import Ambulance, Emergency, EmergencyEvent
from emergency.permissions import (
    IsAdminOrHospitalAdmin,
    IsAdminOrHospitalStaff,
    MovesEmergencies,
    OfItsHospital,
    ReportsLocation,
)
from emergency.throttling import EmergencyReportThrottle
from hms.api.actions import ReadBackMixin, create_action, step_action
from hms.api.compiled import cursor_for
from hms.api.kept_lists import KeptListMixin
from hms.api.rawrows import ModelRows
from hms.api.roles import STAFF_ROLES, Role
from hms.api.scoping import ScopedQuerysetMixin
from hms.api.steps import StepMixin
from hms.api.viewsets import CreateListRetrieveViewSet, ServiceWriteMixin

STAFF_OF_HOSPITAL = dict.fromkeys(STAFF_ROLES, "hospital_id")
_EVENT_ROWS = ModelRows(EmergencyEvent, ["emergency_id", *serializers.EMERGENCY_EVENT_FIELDS])
_EVENT_SQL: dict[tuple[str, int], str] = {}


def _events_of(alias: str, emergency_ids: list[int]) -> dict[int, list]:
    """The events of these emergencies (emergency id -> value lists in EMERGENCY_EVENT_FIELDS' order), in
    the order `Emergency.events` gives them (EmergencyEvent's Meta.ordering), in one statement."""
    if not emergency_ids:
        return {}
    connection = connections[alias]
    # Two statement texts, not one per page length: a connection keeps a bounded number of prepared
    # statements, and ids repeated in IN (...) change nothing.
    size = 20 if len(emergency_ids) <= 20 else max(len(emergency_ids), 100)
    key = (alias, size)
    sql = _EVENT_SQL.get(key)
    if sql is None:
        quote, meta = connection.ops.quote_name, EmergencyEvent._meta
        table = quote(meta.db_table)
        order = ", ".join(
            f"{table}.{quote(meta.get_field(name.lstrip('-')).column)}{' DESC' if name.startswith('-') else ''}"
            for name in meta.ordering
        )
        placeholders = ", ".join(["%s"] * size)
        sql = _EVENT_SQL[key] = (
            f"SELECT {_EVENT_ROWS.select_list(connection)} FROM {table} "  # noqa: S608 - names from _meta
            f"WHERE {table}.{quote(meta.get_field('emergency').column)} IN ({placeholders}) ORDER BY {order}"
        )
    with cursor_for(alias) as cursor:
        cursor.execute(sql, [*emergency_ids, *[emergency_ids[-1]] * (size - len(emergency_ids))])
        found = cursor.fetchall()
    events: dict[int, list] = {}
    for row in found:
        emergency_id, *values = _EVENT_ROWS.convert(connection, row)
        events.setdefault(emergency_id, []).append(values)
    return events


def _ambulances():
    open_emergency = Emergency.objects.filter(ambulance=OuterRef("pk"), status__in=Emergency.OPEN_STATUSES)
    return (
        Ambulance.objects.select_related("driver")
        .annotate(current_emergency_id=Subquery(open_emergency.values("pk")[:1]))
        .order_by("id")
    )


@extend_schema_view(
    list=extend_schema(summary="Ambulances of the caller's hospital (admin: all)"),
    retrieve=extend_schema(summary="One ambulance"),
)
@extend_schema(tags=["ambulances"])
class AmbulanceViewSet(
    ServiceWriteMixin,
    ScopedQuerysetMixin,
    StepMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Ambulances: managed by admin and its hospital's admin, visible to its hospital's staff.

    Never deleted (DELETE 405): set status `out_of_service` instead.
    """

    queryset = Ambulance.objects.all()
    input_serializer_class = serializers.AmbulanceIn
    output_serializer_class = serializers.AmbulanceOut
    hospital_lookups = STAFF_OF_HOSPITAL
    filterset_class = AmbulanceFilter
    search_fields = ["vehicle_number"]
    ordering_fields = ["id", "vehicle_number", "status", "location_updated_at"]
    ordering = ["id"]
    step_object = "ambulance"

    def get_queryset(self):
        if self.action == "list":
            return self.scope_queryset(_ambulances())
        # The roles table answers other hospitals' staff 403 (OfItsHospital), not 404: ambulances are not
        # clinical records.
        return _ambulances()

    def get_permissions(self):
        if self.action in ("create", "update", "partial_update", "status"):
            return [IsAdminOrHospitalAdmin(), OfItsHospital()]
        if self.action == "location":
            return [ReportsLocation(), OfItsHospital()]
        return [IsAdminOrHospitalStaff(), OfItsHospital()]

    def _out(self, ambulance):
        return self.output(_ambulances().get(pk=ambulance.pk))

    def create_row(self, values):
        ambulance = ambulances.ambulance_create(by=self.request.user, data=dict(values))
        return _ambulances().get(pk=ambulance.pk)

    def update_row(self, ambulance, values):
        ambulance = ambulances.ambulance_update(by=self.request.user, ambulance=ambulance, data=dict(values))
        return _ambulances().get(pk=ambulance.pk)

    location = step_action(
        "location",
        ambulances.ambulance_location_update,
        serializers.AmbulanceLocationIn,
        check=ambulances.ambulance_require_reporter,
        summary="Report the ambulance's position (its driver, its hospital's admin); kept as history",
        responses={200: serializers.AmbulanceOut},
    )

    @extend_schema(
        summary="Position history, newest first",
        responses={200: serializers.AmbulanceLocationOut(many=True)},
        filters=False,
    )
    @action(detail=True, methods=["get"], filterset_class=None, search_fields=[], ordering_fields=[])
    def locations(self, request, pk=None):
        ambulance = self.get_object()
        page = self.paginate_queryset(ambulance.locations.order_by("-recorded_at", "-id"))
        return self.get_paginated_response(serializers.AmbulanceLocationOut(page, many=True).data)

    status = step_action(
        "status",
        ambulances.ambulance_status_set,
        serializers.AmbulanceStatusIn,
        summary="Set available or out_of_service (admin, its hospital's admin)",
        description=(
            "`available` is refused (409) while the ambulance serves an open emergency, and so is "
            "`out_of_service`. `dispatched` and `busy` follow emergencies only: 400 here."
        ),
        responses={200: serializers.AmbulanceOut},
    )


@extend_schema_view(
    list=extend_schema(summary="Emergencies the caller may see"),
    retrieve=extend_schema(summary="One emergency with its events"),
)
@extend_schema(tags=["emergencies"])
class EmergencyViewSet(
    ExportMixin,
    ScopedQuerysetMixin,
    StepMixin,
    ReadBackMixin,
    KeptListMixin,
    CreateListRetrieveViewSet,
):
    """Emergencies: reported by anyone; seen by the reporter, the assigned hospital's staff, the
    assigned ambulance's driver and admin (others 404). Changed only through the actions; never deleted.
    """

    queryset = Emergency.objects.select_related("hospital", "ambulance").prefetch_related("events")
    serializer_class = serializers.EmergencyOut
    owner_lookups = ("reporter_id",)
    hospital_lookups = STAFF_OF_HOSPITAL
    user_lookups = {Role.AMBULANCE_DRIVER: "ambulance__driver_id"}
    filterset_class = EmergencyFilter
    search_fields = ["patient_name", "contact_number", "address"]
    ordering_fields = ["id", "created_at", "updated_at", "severity", "status"]
    ordering = ["-created_at", "-id"]
    export_name = "emergencies"
    export_window = (("from", "created_after"), ("to", "created_before"))
    step_object = "emergency"

    # The list's JSON pages: the scoped, filtered rows compiled once per shape (hms.api.kept_lists), their
    # events in one more statement, written without a serializer per row.
    kept_list_columns = tuple(serializers.EMERGENCY_ROW_COLUMNS)

    def kept_list_results(self, rows: list[dict], now) -> list[dict]:
        events = _events_of(router.db_for_read(Emergency), [row["id"] for row in rows])
        return serializers.emergencies_out(rows, events)

    def get_permissions(self):
        if self.action == "create":
            return [AllowAny()]
        if self.action in ("dispatch_ambulance", "forward"):
            return [IsAdminOrHospitalAdmin()]
        if self.action == "status":
            return [MovesEmergencies()]
        return [IsAuthenticated()]

    def get_throttles(self):
        if self.action == "create":
            return [EmergencyReportThrottle()]
        return super().get_throttles()

    create = create_action(
        "emergency-report",
        serializers.EmergencyIn,
        summary="Report an emergency (open to anyone, throttled per client address)",
        description=(
            "Signed in or not. `contact_number`, `emergency_type` and a location (latitude and longitude, "
            "or an address) are required. Without `hospital_id`, coordinates assign the nearest active "
            "hospital with emergency services (within 500 km); an address-only report stays unassigned "
            "(visible to admins) until an admin forwards it. An anonymous reporter gets the record only "
            "in this response. Anonymous reports are limited per client address (429)."
        ),
        responses={
            201: serializers.EmergencyOut,
            429: OpenApiResponse(description="Too many reports."),
        },
        auth=[{"jwtAuth": []}, {}],
    )

    def create_row(self, values):
        reporter = self.request.user if self.request.user.is_authenticated else None
        return services.emergency_report(reporter=reporter, data=dict(values))

    dispatch_ambulance = step_action(
        "dispatch_ambulance",
        services.emergency_dispatch,
        serializers.EmergencyDispatchIn,
        check=services.emergency_require_manager,
        url_path="dispatch",
        summary="Send an ambulance (admin, the emergency's hospital admin)",
        description=(
            "The given ambulance (unknown: 404; another hospital's: 400; not available: 409), or the "
            "available ambulance of the emergency's hospital nearest to the emergency (one that never "
            "reported a position counts as at its hospital); none available: 409. Only a `reported` "
            "emergency with a hospital can be dispatched (else 409)."
        ),
        responses={200: serializers.EmergencyOut},
    )
    status = step_action(
        "status",
        services.emergency_status_change,
        serializers.EmergencyStatusIn,
        check=services.emergency_require_mover,
        summary="Move the emergency one step forward, or cancel it",
        description=(
            "reported -> dispatched (only through /dispatch) -> en_route -> on_scene -> transporting -> "
            "at_hospital -> resolved; `cancelled` from any open state. Anything else: 409. The assigned "
            "ambulance's driver moves en_route..at_hospital; the emergency's hospital admin and admin make "
            "any legal move. Resolved or cancelled frees the ambulance."
        ),
        responses={200: serializers.EmergencyOut},
    )
    forward = step_action(
        "forward",
        services.emergency_forward,
        serializers.EmergencyForwardIn,
        check=services.emergency_require_manager,
        summary="Hand the emergency to another active hospital (admin, the current hospital's admin)",
        description="Unknown or inactive hospital: 404. Kept in `events`; the ambulance stays on the emergency.",
        responses={200: serializers.EmergencyOut},
    )
