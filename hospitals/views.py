"""Thin viewsets: permission, scoped queryset, input serializer, one service call, output serializer."""

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from accounts.activity import ClinicalReadAuditMixin, ExportMixin
from hms.api.idempotency import IDEMPOTENCY_KEY_PARAMETER, IDEMPOTENCY_RESPONSES, idempotent
from hms.api.listcache import CachedListMixin
from hms.api.roles import Role
from hms.api.scoping import ScopedQuerysetMixin, visibility_scope
from hospitals import reservations, selectors, serializers, services
from hospitals.filters import AdmissionFilter, BedFilter, FloorFilter, HospitalFilter, WardFilter
from hospitals.models import Admission, Bed, Floor, Hospital, Ward
from hospitals.permissions import (
    CanOperateBeds,
    HospitalPermission,
    PublicReadManagersWrite,
    SignedInReadOnly,
)

NOT_FOUND = OpenApiResponse(description="No such row, or not visible to the caller.")


class _WriteViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.GenericViewSet):
    """Create and update go through services: an input serializer validates, `output()` answers."""

    input_serializer_class = None
    update_serializer_class = None
    output_serializer_class = None

    def get_serializer_class(self):
        if self.action == "create":
            return self.input_serializer_class
        if self.action in ("update", "partial_update"):
            return self.update_serializer_class or self.input_serializer_class
        return self.output_serializer_class

    def output(self, instance, status_code=status.HTTP_200_OK):
        return Response(self.output_serializer_class(instance, context=self.get_serializer_context()).data, status_code)


# --- Hospitals --------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Active hospitals (public)", auth=[{}, {"jwtAuth": []}]),
    retrieve=extend_schema(summary="A hospital with its bed summary (public)", auth=[{}, {"jwtAuth": []}]),
)
@extend_schema(tags=["hospitals"])
class HospitalViewSet(
    CachedListMixin,
    ScopedQuerysetMixin,
    viewsets.ModelViewSet,
):
    """Hospitals. Public reads of active hospitals; admin creates and deactivates; admin or its admin edits."""

    queryset = Hospital.objects.all()
    permission_classes = [HospitalPermission]
    # Lists default to active hospitals in HospitalFilter; an admin may ask for `is_active=false`.
    public_read, active_lookups = True, ("is_active",)
    filterset_class = HospitalFilter
    search_fields = ["name", "city", "registration_number"]
    ordering_fields = ["id", "name", "city", "created_at"]

    def list_cache_scope(self, request) -> str:
        # Lists are kept on the read cache until the next committed write, or, when they filter on free
        # beds, until the next reservation lapses (the only change time makes).
        return visibility_scope(request.user)

    def list_cache_totals(self, queryset) -> dict:
        totals = super().list_cache_totals(queryset)
        if {"has_beds", "has_bed_type"} & set(self.request.query_params):
            totals["next_lapse"] = selectors.next_reservation_lapse()
        return totals

    def list_cache_still_valid(self, entry: dict) -> bool:
        next_lapse = entry.get("next_lapse")
        return next_lapse is None or next_lapse > timezone.now()

    def get_serializer_class(self):
        if self.action == "create":
            return serializers.HospitalCreateIn
        if self.action in ("update", "partial_update"):
            return serializers.HospitalIn
        if self.action == "retrieve":
            return serializers.HospitalDetailOut
        return serializers.HospitalOut

    def filter_queryset(self, queryset):
        # Filters and search apply to the list only (detail routes take the id alone).
        if self.action != "list":
            return queryset
        return super().filter_queryset(queryset)

    @extend_schema(request=serializers.HospitalCreateIn, responses={201: serializers.HospitalCreatedOut})
    def create(self, request, *args, **kwargs):
        data = serializers.HospitalCreateIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        admin_data = values.pop("admin", None)
        hospital, admin = services.hospital_create(by=request.user, data=values, admin_data=admin_data)
        out = serializers.HospitalCreatedOut(hospital, context={**self.get_serializer_context(), "admin": admin})
        return Response(out.data, status=status.HTTP_201_CREATED)

    @extend_schema(request=serializers.HospitalIn, responses={200: serializers.HospitalDetailOut})
    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        hospital = self.get_object()
        data = serializers.HospitalIn(instance=hospital, data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        hospital = services.hospital_update(by=request.user, hospital=hospital, data=dict(data.validated_data))
        return Response(serializers.HospitalDetailOut(hospital, context=self.get_serializer_context()).data)

    @extend_schema(request=serializers.HospitalIn, responses={200: serializers.HospitalDetailOut})
    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    @extend_schema(summary="Deactivate a hospital (data kept)", responses={204: None})
    def destroy(self, request, *args, **kwargs):
        services.hospital_deactivate(by=request.user, hospital=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Live bed availability of a hospital (public)",
        auth=[{}, {"jwtAuth": []}],
        responses={200: serializers.BedSummaryOut},
    )
    @action(detail=True, methods=["get"], permission_classes=[AllowAny], filter_backends=[])
    def availability(self, request, pk=None):
        # One query answers both "may the caller see this hospital?" and the counts; the selector
        # returns exactly BedSummaryOut's shape (as the detail's bed_summary does): no serializer pass
        # over its 70 counters.
        try:
            hospital_id = int(pk)
        except ValueError:
            raise NotFound from None
        summary = selectors.bed_summary(
            hospital_id=hospital_id,
            hospitals=self.get_queryset,
            cache_scope=visibility_scope(request.user),
        )
        if summary is None:
            raise NotFound
        return Response(summary)

    @extend_schema(
        methods=["GET"],
        summary="Floors of a hospital (public)",
        auth=[{}, {"jwtAuth": []}],
        responses={200: serializers.FloorOut(many=True)},
    )
    @extend_schema(
        methods=["POST"],
        summary="Add a floor to a multi-level hospital",
        request=serializers.HospitalFloorIn,
        responses={201: serializers.FloorOut},
    )
    @action(detail=True, methods=["get", "post"], url_path="floors", filter_backends=[])
    def floors(self, request, pk=None):
        hospital = self.get_object()
        if request.method == "POST":
            data = serializers.HospitalFloorIn(data=request.data)
            data.is_valid(raise_exception=True)
            floor = services.floor_create(by=request.user, hospital=hospital, **data.validated_data)
            return Response(serializers.FloorOut(floor).data, status=status.HTTP_201_CREATED)
        floors = hospital.floors.order_by("id")
        page = self.paginate_queryset(floors)
        return self.get_paginated_response(serializers.FloorOut(page, many=True).data)


# --- Floors and wards -------------------------------------------------------------------------


@extend_schema(tags=["floors"])
@extend_schema_view(
    list=extend_schema(auth=[{}, {"jwtAuth": []}]),
    retrieve=extend_schema(auth=[{}, {"jwtAuth": []}]),
)
class FloorViewSet(ScopedQuerysetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, _WriteViewSet):
    """Floors of multi-level hospitals. Public reads; admin and the hospital's admin write; DELETE is 405."""

    queryset = Floor.objects.all()
    permission_classes = [PublicReadManagersWrite]
    public_read, active_lookups = True, ("hospital__is_active",)
    filterset_class = FloorFilter
    ordering_fields = ["id", "floor_number"]
    input_serializer_class = serializers.FloorIn
    update_serializer_class = serializers.FloorUpdateIn
    output_serializer_class = serializers.FloorOut

    @extend_schema(responses={201: serializers.FloorOut})
    def create(self, request, *args, **kwargs):
        data = serializers.FloorIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        floor = services.floor_create(
            by=request.user,
            hospital=values.get("hospital"),
            floor_number=values["floor_number"],
            name=values.get("name", ""),
        )
        return self.output(floor, status.HTTP_201_CREATED)

    @extend_schema(responses={200: serializers.FloorOut})
    def update(self, request, *args, **kwargs):
        floor = self.get_object()
        data = serializers.FloorUpdateIn(data=request.data, partial=kwargs.pop("partial", False))
        data.is_valid(raise_exception=True)
        return self.output(services.floor_update(by=request.user, floor=floor, data=data.validated_data))

    @extend_schema(responses={200: serializers.FloorOut})
    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)


@extend_schema(tags=["wards"])
@extend_schema_view(
    list=extend_schema(auth=[{}, {"jwtAuth": []}]),
    retrieve=extend_schema(auth=[{}, {"jwtAuth": []}]),
)
class WardViewSet(ScopedQuerysetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, _WriteViewSet):
    """Wards: on a floor of a multi-level hospital, or directly under a single-level one. DELETE is 405."""

    queryset = Ward.objects.all()
    permission_classes = [PublicReadManagersWrite]
    public_read, active_lookups = True, ("hospital__is_active",)
    filterset_class = WardFilter
    ordering_fields = ["id", "name", "ward_number", "ward_type"]
    search_fields = ["name", "ward_number"]
    input_serializer_class = serializers.WardIn
    output_serializer_class = serializers.WardOut

    @extend_schema(responses={201: serializers.WardOut})
    def create(self, request, *args, **kwargs):
        data = serializers.WardIn(data=request.data)
        data.is_valid(raise_exception=True)
        return self.output(services.ward_create(by=request.user, data=data.validated_data), 201)

    @extend_schema(responses={200: serializers.WardOut})
    def update(self, request, *args, **kwargs):
        ward = self.get_object()
        data = serializers.WardIn(data=request.data, partial=kwargs.pop("partial", False))
        data.is_valid(raise_exception=True)
        return self.output(services.ward_update(by=request.user, ward=ward, data=data.validated_data))

    @extend_schema(responses={200: serializers.WardOut})
    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)


# --- Beds -------------------------------------------------------------------------------------

BED_ACTION_ERRORS = {
    403: OpenApiResponse(description="Not an administrator, or the hospital admin or a doctor of this hospital."),
    404: NOT_FOUND,
}


@extend_schema(tags=["beds"])
@extend_schema_view(
    list=extend_schema(auth=[{}, {"jwtAuth": []}]),
    retrieve=extend_schema(auth=[{}, {"jwtAuth": []}]),
)
class BedViewSet(ScopedQuerysetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, _WriteViewSet):
    """Beds and their operations. `current_admission` is shown only to the hospital's staff and admins.

    DELETE is 405: a bed leaves service through `status` maintenance.
    """

    queryset = Bed.objects.all()
    permission_classes = [PublicReadManagersWrite]
    public_read, active_lookups = True, ("hospital__is_active",)
    filterset_class = BedFilter
    ordering_fields = ["id", "bed_number", "status"]
    input_serializer_class = serializers.BedIn
    update_serializer_class = serializers.BedUpdateIn
    output_serializer_class = serializers.BedOut

    def get_queryset(self):
        return selectors.beds_with_current_admission(super().get_queryset())

    @extend_schema(responses={201: serializers.BedOut})
    def create(self, request, *args, **kwargs):
        data = serializers.BedIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        bed = services.bed_create(
            by=request.user,
            ward=values["ward"],
            bed_number=values["bed_number"],
            **{field: values[field] for field in ("status", "bed_type") if field in values},
        )
        return self.output(bed, status.HTTP_201_CREATED)

    @extend_schema(responses={200: serializers.BedOut})
    def update(self, request, *args, **kwargs):
        bed = self.get_object()
        data = serializers.BedUpdateIn(data=request.data, partial=kwargs.pop("partial", False))
        data.is_valid(raise_exception=True)
        bed = services.bed_update(by=request.user, bed=bed, data=data.validated_data)
        return self.output(self.get_queryset().get(pk=bed.pk))

    @extend_schema(responses={200: serializers.BedOut})
    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    @extend_schema(
        summary="Admit a patient to this bed",
        request=serializers.AdmitIn,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: serializers.AdmissionOut, **BED_ACTION_ERRORS, **IDEMPOTENCY_RESPONSES},
    )
    @action(detail=True, methods=["post"], permission_classes=[CanOperateBeds])
    @idempotent("bed-admit")
    def admit(self, request, pk=None):
        bed = self.get_object()
        data = serializers.AdmitIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        admission = services.bed_admit(
            by=request.user,
            bed=bed,
            patient=values.get("patient"),
            patient_name=values.get("patient_name", ""),
            reason=values.get("reason", ""),
        )
        return Response(serializers.AdmissionOut(admission).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Discharge this bed's patient (bed -> cleaning)",
        request=None,
        responses={200: serializers.AdmissionOut, **BED_ACTION_ERRORS},
    )
    @action(detail=True, methods=["post"], permission_classes=[CanOperateBeds])
    def discharge(self, request, pk=None):
        admission = services.bed_discharge(by=request.user, bed=self.get_object())
        return Response(serializers.AdmissionOut(admission).data)

    @extend_schema(
        summary="Move this bed's patient to an available bed of the same hospital (source -> cleaning)",
        request=serializers.TransferIn,
        responses={200: serializers.AdmissionOut, **BED_ACTION_ERRORS},
    )
    @action(detail=True, methods=["post"], permission_classes=[CanOperateBeds])
    def transfer(self, request, pk=None):
        bed = self.get_object()
        data = serializers.TransferIn(data=request.data)
        data.is_valid(raise_exception=True)
        to_bed = get_object_or_404(self.get_queryset(), pk=data.validated_data["to_bed_id"])
        admission = services.bed_transfer(by=request.user, bed=bed, to_bed=to_bed)
        return Response(serializers.AdmissionOut(admission).data)

    @extend_schema(
        summary="Set a bed's status (available, reserved, cleaning, maintenance)",
        request=serializers.BedStatusIn,
        responses={200: serializers.BedOut, **BED_ACTION_ERRORS},
    )
    @action(detail=True, methods=["post"], url_path="status", permission_classes=[CanOperateBeds])
    def set_status(self, request, pk=None):
        bed = self.get_object()
        data = serializers.BedStatusIn(data=request.data)
        data.is_valid(raise_exception=True)
        bed = services.bed_status_set(by=request.user, bed=bed, status=data.validated_data["status"])
        return self.output(self.get_queryset().get(pk=bed.pk))

    @extend_schema(
        summary="Hold an available bed for one patient until a time (status -> reserved)",
        description="Only that patient can then be admitted to the bed (others: 409 `bed_reserved`). The "
        "reservation lapses at `until` (the bed counts as available from then on, whether or not anything "
        "has run). A bed that is not available: 409 `bed_occupied`, `bed_reserved` or `bed_unavailable`.",
        request=serializers.ReserveIn,
        responses={200: serializers.BedOut, **BED_ACTION_ERRORS},
    )
    @action(detail=True, methods=["post"], permission_classes=[CanOperateBeds])
    def reserve(self, request, pk=None):
        bed = self.get_object()
        data = serializers.ReserveIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        bed = reservations.bed_reserve(
            by=request.user, bed=bed, patient=values["patient"], until=values["until"], reason=values["reason"]
        )
        return self.output(self.get_queryset().get(pk=bed.pk))

    @extend_schema(
        summary="End this bed's reservation (status -> available)",
        description="409 `not_reserved` when the bed holds no reservation (or it has lapsed).",
        request=None,
        responses={200: serializers.BedOut, **BED_ACTION_ERRORS},
    )
    @action(detail=True, methods=["post"], permission_classes=[CanOperateBeds])
    def release(self, request, pk=None):
        bed = reservations.bed_release(by=request.user, bed=self.get_object())
        return self.output(self.get_queryset().get(pk=bed.pk))


# --- Admissions -------------------------------------------------------------------------------


@extend_schema(tags=["admissions"])
class AdmissionViewSet(ExportMixin, ClinicalReadAuditMixin, ScopedQuerysetMixin, viewsets.ReadOnlyModelViewSet):
    """Admissions (read-only). Visible to the patient, the hospital's admin and doctors, and admins; others 404.

    Every detail read is recorded in the activity log.
    """

    queryset = Admission.objects.all()
    serializer_class = serializers.AdmissionOut
    permission_classes = [SignedInReadOnly]
    filterset_class = AdmissionFilter
    ordering_fields = ["admitted_at", "discharged_at", "id"]
    owner_lookups = ("patient_id",)
    hospital_lookups = {Role.HOSPITAL_ADMIN: "hospital_id", Role.DOCTOR: "hospital_id"}
    audit_object_type = "admission"
    export_name = "admissions"

    @extend_schema(responses={200: serializers.AdmissionOut, 404: NOT_FOUND})
    def retrieve(self, request, *args, **kwargs):
        return super().retrieve(request, *args, **kwargs)
