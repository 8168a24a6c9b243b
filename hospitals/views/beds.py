"""Beds and their operations (admit, discharge, transfer, status, reserve, release), and admissions (read)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.activity import ClinicalReadAuditMixin, ExportMixin
from hms.api.idempotency import IDEMPOTENCY_KEY_PARAMETER, IDEMPOTENCY_RESPONSES, idempotent
from hms.api.roles import Role
from hms.api.scoping import ScopedQuerysetMixin
from hms.api.steps import StepMixin
from hospitals import reservations, selectors, serializers, services
from hospitals.filters import AdmissionFilter, BedFilter
from hospitals.models import Admission, Bed
from hospitals.permissions import CanOperateBeds, SignedInReadOnly
from hospitals.views.common import NOT_FOUND, StructureViewSet

# --- Beds -------------------------------------------------------------------------------------

BED_ACTION_ERRORS = {
    403: OpenApiResponse(description="Not an administrator, or the hospital admin or a doctor of this hospital."),
    404: NOT_FOUND,
}


@extend_schema(tags=["beds"])
class BedViewSet(StepMixin, StructureViewSet):
    """Beds and their operations. `current_admission` is shown only to the hospital's staff and admins.

    DELETE is 405: a bed leaves service through `status` maintenance.
    """

    queryset = Bed.objects.all()
    filterset_class = BedFilter
    ordering_fields = ["id", "bed_number", "status"]
    input_serializer_class = serializers.BedIn
    update_serializer_class = serializers.BedUpdateIn
    output_serializer_class = serializers.BedOut
    step_object = "bed"

    def get_queryset(self):
        return selectors.beds_with_current_admission(super().get_queryset())

    def create_row(self, values):
        return services.bed_create(
            by=self.request.user,
            ward=values["ward"],
            bed_number=values["bed_number"],
            **{field: values[field] for field in ("status", "bed_type") if field in values},
        )

    def update_row(self, bed, values):
        return self._fresh(services.bed_update(by=self.request.user, bed=bed, data=values))

    def _fresh(self, bed):
        """The bed re-read with its current admission, as the list shows it."""
        return self.get_queryset().get(pk=bed.pk)

    def _out(self, bed):
        return self.output(self._fresh(bed))

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
        return self.step(services.bed_status_set, serializers.BedStatusIn)

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
        return self.step(reservations.bed_reserve, serializers.ReserveIn)

    @extend_schema(
        summary="End this bed's reservation (status -> available)",
        description="409 `not_reserved` when the bed holds no reservation (or it has lapsed).",
        request=None,
        responses={200: serializers.BedOut, **BED_ACTION_ERRORS},
    )
    @action(detail=True, methods=["post"], permission_classes=[CanOperateBeds])
    def release(self, request, pk=None):
        return self.step(reservations.bed_release)


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
