"""Thin viewsets: permission, scoped queryset, input serializer, one service call, output serializer."""

from functools import cached_property
from zoneinfo import ZoneInfo

from django.db.models import F
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.activity import ClinicalReadAuditMixin, ExportMixin
from appointments import services
from appointments.filters import (
    AppointmentFilter,
    DoctorFilter,
    OpdScheduleFilter,
    VisitFilter,
)
from appointments.models import Appointment, Doctor, OpdSchedule, Visit
from appointments.permissions import (
    AppointmentAccess,
    ClinicalRecordScope,
    PublicReadDoctorWrite,
    PublicReadHospitalWrite,
    VisitAccess,
)
from appointments.serializers import (
    AppointmentCreateIn,
    AppointmentOut,
    AppointmentUpdateIn,
    CancelIn,
    DoctorCreateIn,
    DoctorOut,
    DoctorUpdateIn,
    GenerateSlotsIn,
    GenerateSlotsOut,
    OpdScheduleIn,
    OpdScheduleOut,
    VisitCreateIn,
    VisitOut,
)
from appointments.serializers.bookings import (
    APPOINTMENT_LIST_COLUMNS,
    appointment_list_row,
    appointment_moment_writers,
    appointment_out,
)
from appointments.serializers.common import local_iso
from appointments.serializers.doctors import DOCTOR_LIST_COLUMNS, doctor_list_row
from appointments.slot_views import AvailableSlotViewSet, HoldViewSet, SlotViewSet  # noqa: F401 (re-exported)
from hms.api.exports import Column
from hms.api.idempotency import idempotent
from hms.api.kept_lists import KeptListMixin
from hms.api.scoping import ScopedQuerysetMixin
from hms.api.throttling import ScopedRateThrottle
from hms.api.viewsets import ServiceWriteMixin

BOOKING_ROUTE = "appointment-book"


class ServiceWriteViewSet(
    ServiceWriteMixin, ScopedQuerysetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Rows listed and read; POST, PUT and PATCH validated by `input_serializer_classes[action]`, written by
    the subclass's `create_row` / `update_row` (one service call each) and answered with
    `output_serializer_class` (hms.api.viewsets.ServiceWriteMixin)."""

    input_serializer_classes: dict = {}

    def get_serializer_class(self):
        return self.input_serializer_classes.get(self.action, self.output_serializer_class)


@extend_schema_view(
    create=extend_schema(
        description="Create a doctor with a new account (`user: {...}`) or from an existing account (`user_id`)."
    )
)
@extend_schema(tags=["doctors"])
class DoctorViewSet(KeptListMixin, ServiceWriteViewSet):
    """Doctors. Public read; admin and the hospital's admin create and edit. Never deleted (set
    `is_available: false`)."""

    queryset = Doctor.objects.select_related("user").order_by("id")
    output_serializer_class = DoctorOut
    input_serializer_classes = {"create": DoctorCreateIn, "update": DoctorUpdateIn, "partial_update": DoctorUpdateIn}
    permission_classes = [PublicReadHospitalWrite]
    filterset_class = DoctorFilter
    search_fields = ["user__fullname", "specialization", "department", "qualification"]
    ordering_fields = ["id", "experience_years", "consultation_fee", "specialization"]
    public_read, active_lookups = True, ("hospital__is_active", "user__is_active")
    row_object, row_services = "doctor", {"update": services.doctor_update}
    kept_list_columns = DOCTOR_LIST_COLUMNS  # the list's pages: hms.api.kept_lists

    def kept_list_row(self, row: dict, now) -> dict:
        return doctor_list_row(row)

    def create_row(self, values):
        values = dict(values)
        account, user, hospital = values.pop("user", None), values.pop("user_id", None), values.pop("hospital")
        return services.doctor_create(
            by=self.request.user, hospital=hospital, profile=values, account=account, user=user
        )


@extend_schema(tags=["opd"])
class OpdScheduleViewSet(ServiceWriteViewSet):
    """Weekly OPD hours (hospital-local times). Public read; written by admin, the hospital's admin, or
    the doctor for itself. Deactivate with `is_active: false`; never deleted."""

    queryset = OpdSchedule.objects.select_related("doctor", "hospital").order_by("id")
    output_serializer_class = OpdScheduleOut
    input_serializer_classes = dict.fromkeys(("create", "update", "partial_update"), OpdScheduleIn)
    permission_classes = [PublicReadDoctorWrite]
    filterset_class = OpdScheduleFilter
    ordering_fields = ["id", "start_time", "valid_from"]
    public_read, active_lookups = True, ("hospital__is_active",)
    row_object = "schedule"
    row_services = {"create": services.opd_schedule_create, "update": services.opd_schedule_update}

    @extend_schema(request=GenerateSlotsIn, responses={200: GenerateSlotsOut})
    @action(detail=True, methods=["post"], url_path="generate-slots")
    def generate_slots(self, request, pk=None):
        """Create the schedule's slots between two dates (at most 90 days); existing and past times are
        skipped, so running it again creates nothing twice."""
        schedule = self.get_object()
        today = timezone.now().astimezone(ZoneInfo(schedule.hospital.timezone)).date()
        data = GenerateSlotsIn(data=request.data, context={"today": today})
        data.is_valid(raise_exception=True)
        result = services.slots_generate(by=request.user, schedule=schedule, **data.validated_data)
        return Response(result)


APPOINTMENT_TRANSITION = {"check_in": "checked_in", "complete": "completed", "no_show": "no_show"}


@extend_schema(tags=["appointments"])
class AppointmentViewSet(
    ExportMixin,
    ClinicalReadAuditMixin,
    ClinicalRecordScope,
    KeptListMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet,
):
    """OPD appointments. Visible to the patient, the slot's doctor, the hospital's admin and admin;
    anyone else gets 404. Never deleted: cancel instead."""

    queryset = Appointment.objects.select_related("patient", "doctor__user", "hospital", "slot")
    serializer_class = AppointmentOut
    permission_classes = [AppointmentAccess]
    filterset_class = AppointmentFilter
    ordering_fields = ["id", "created_at", "start", "token_number"]
    audit_object_type = "appointment"
    throttle_scope = "booking"
    export_name = "appointments"
    export_columns = {
        "start": Column(("slot__start", "hospital__timezone"), convert=local_iso),
        "end": Column(("slot__end", "hospital__timezone"), convert=local_iso),
    }
    export_window = (("from",), ("to",))
    kept_list_columns = APPOINTMENT_LIST_COLUMNS  # the list's pages: hms.api.kept_lists

    def get_queryset(self):
        return super().get_queryset().annotate(start=F("slot__start")).order_by("-id")

    def kept_list_row(self, row: dict, now) -> dict:
        return appointment_list_row(row, self.moment_writers)

    @cached_property
    def moment_writers(self) -> tuple:
        return appointment_moment_writers()  # once per request (a view serves one)

    def get_throttles(self):
        return [ScopedRateThrottle()] if self.action == "create" else []

    def _out(self, appointment: Appointment):
        return AppointmentOut(self.queryset.get(pk=appointment.pk)).data

    @idempotent(
        BOOKING_ROUTE,
        request=AppointmentCreateIn,
        responses={201: AppointmentOut},
    )
    def create(self, request, *args, **kwargs):
        """Book a seat in a slot for the caller (staff of the slot's hospital may pass `patient_id`), or
        the seat an active hold keeps (`hold_id`). Unknown slot or hold -> 404; wrong hospital_id or a
        started slot -> 400; full, closed, OPD closed, already booked by this patient, or a hold
        expired, used or released -> 409."""
        values = AppointmentCreateIn.plain(request.data)
        if values is None:
            data = AppointmentCreateIn(data=request.data)
            data.is_valid(raise_exception=True)
            values = dict(data.validated_data)
        if "hold_id" in values:
            appointment = services.hold_book(by=request.user, **values)
        else:
            appointment = services.appointment_book(by=request.user, **values)
        return Response(appointment_out(appointment), status=status.HTTP_201_CREATED)

    @extend_schema(request=AppointmentUpdateIn, responses={200: AppointmentOut})
    def partial_update(self, request, *args, **kwargs):
        """Change `reason`, or `slot_id` to reschedule (new seat taken, old one released, one transaction).
        The patient, the hospital's admin or admin."""
        appointment = self.get_object()
        data = AppointmentUpdateIn(data=request.data)
        data.is_valid(raise_exception=True)
        appointment = services.appointment_update(by=request.user, appointment=appointment, data=data.validated_data)
        return Response(self._out(appointment))

    @extend_schema(request=CancelIn, responses={200: AppointmentOut})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel a booked appointment before its slot starts (else 409); the seat is released.
        The patient, the hospital's admin or admin."""
        appointment = self.get_object()
        data = CancelIn(data=request.data if request.data else request.query_params)
        data.is_valid(raise_exception=True)
        appointment = services.appointment_cancel(
            by=request.user, appointment=appointment, reason=data.validated_data["reason"]
        )
        return Response(self._out(appointment))

    def _transition(self, request):
        appointment = services.appointment_transition(
            by=request.user, appointment=self.get_object(), status=APPOINTMENT_TRANSITION[self.action]
        )
        return Response(self._out(appointment))

    @extend_schema(request=None, responses={200: AppointmentOut})
    @action(detail=True, methods=["post"], url_path="check-in")
    def check_in(self, request, pk=None):
        """booked -> checked_in. The slot's doctor, the hospital's admin or admin."""
        return self._transition(request)

    @extend_schema(request=None, responses={200: AppointmentOut})
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        """checked_in -> completed (recording a visit also completes). The slot's doctor, the hospital's
        admin or admin."""
        return self._transition(request)

    @extend_schema(request=None, responses={200: AppointmentOut})
    @action(detail=True, methods=["post"], url_path="no-show")
    def no_show(self, request, pk=None):
        """booked or checked_in -> no_show, once the slot has started. The slot's doctor, the hospital's
        admin or admin."""
        return self._transition(request)


@extend_schema(tags=["appointments"])
class MyAppointmentViewSet(AppointmentViewSet):
    """The caller's own appointments (as the patient)."""

    def get_queryset(self):
        return super().get_queryset().filter(patient_id=self.request.user.pk)


@extend_schema(tags=["visits"])
class VisitViewSet(ClinicalReadAuditMixin, ClinicalRecordScope, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Visits with their prescriptions. Recorded by the doctor for its own patient; readable by the
    patient, that doctor, the hospital's admin and admin. Never changed or deleted."""

    queryset = Visit.objects.prefetch_related("prescriptions").order_by("-visited_at", "-id")
    serializer_class = VisitOut
    permission_classes = [VisitAccess]
    filterset_class = VisitFilter
    ordering_fields = ["visited_at", "id"]
    audit_object_type = "visit"

    @extend_schema(
        request=VisitCreateIn,
        responses={201: VisitOut},
    )
    def create(self, request, *args, **kwargs):
        """Record a visit (with prescriptions). With `appointment_id` (one of the doctor's booked or
        checked-in appointments) the appointment becomes completed; without it, `patient_id` must be one
        of the doctor's patients."""
        data = VisitCreateIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        visit = services.visit_create(
            by=request.user,
            appointment_id=values.pop("appointment_id", None),
            patient_id=values.pop("patient_id", None),
            prescriptions=[dict(item) for item in values.pop("prescriptions", [])],
            fields=values,
        )
        return Response(VisitOut(self.queryset.get(pk=visit.pk)).data, status=status.HTTP_201_CREATED)
