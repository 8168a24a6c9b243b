"""Thin viewsets: permission, scoped queryset, input serializer, one service call, output serializer."""

from zoneinfo import ZoneInfo

from django.db.models import Count, F, Min
from django.utils import timezone
from django_filters.widgets import BooleanWidget
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.activity import AuditedWriteMixin, ClinicalReadAuditMixin, ExportMixin
from appointments import services
from appointments.filters import (
    AppointmentFilter,
    DoctorFilter,
    HoldFilter,
    OpdScheduleFilter,
    SlotFilter,
    VisitFilter,
)
from appointments.holds import HoldCreateIn, HoldOut
from appointments.models import Appointment, Doctor, Hold, OpdSchedule, Slot, Visit
from appointments.permissions import (
    AppointmentAccess,
    HoldAccess,
    HoldPlacement,
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
    SlotCreateIn,
    SlotOut,
    SlotUpdateIn,
    VisitCreateIn,
    VisitOut,
)
from appointments.serializers.common import local_iso
from appointments.topics import slot_list_topics
from hms.api.exports import Column
from hms.api.idempotency import IDEMPOTENCY_KEY_PARAMETER, IDEMPOTENCY_RESPONSES, idempotent
from hms.api.listcache import CachedListMixin
from hms.api.roles import Role
from hms.api.scoping import ScopedQuerysetMixin, visibility_scope
from hms.api.throttling import ScopedRateThrottle

BOOKING_ROUTE = "appointment-book"
HOLD_ROUTE = "slot-hold"


@extend_schema(tags=["doctors"])
class DoctorViewSet(
    AuditedWriteMixin, ScopedQuerysetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Doctors. Public read; admin and the hospital's admin create and edit. Never deleted (set
    `is_available: false`)."""

    queryset = Doctor.objects.select_related("user").order_by("id")
    serializer_class = DoctorOut
    permission_classes = [PublicReadHospitalWrite]
    filterset_class = DoctorFilter
    search_fields = ["user__fullname", "specialization", "department", "qualification"]
    ordering_fields = ["id", "experience_years", "consultation_fee", "specialization"]
    audit_object_type = "doctor"
    public_read, active_lookups = True, ("hospital__is_active", "user__is_active")

    @extend_schema(request=DoctorCreateIn, responses={201: DoctorOut})
    def create(self, request, *args, **kwargs):
        """Create a doctor with a new account (`user: {...}`) or from an existing account (`user_id`)."""
        data = DoctorCreateIn(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        account, user, hospital = values.pop("user", None), values.pop("user_id", None), values.pop("hospital")
        doctor = services.doctor_create(by=request.user, hospital=hospital, profile=values, account=account, user=user)
        return Response(DoctorOut(doctor).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=DoctorUpdateIn, responses={200: DoctorOut})
    def update(self, request, *args, partial=False, **kwargs):
        data = DoctorUpdateIn(self.get_object(), data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        self.perform_update(data)
        return Response(DoctorOut(data.instance).data)

    @extend_schema(request=DoctorUpdateIn, responses={200: DoctorOut})
    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)


@extend_schema(tags=["opd"])
class OpdScheduleViewSet(
    AuditedWriteMixin, ScopedQuerysetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Weekly OPD hours (hospital-local times). Public read; written by admin, the hospital's admin, or
    the doctor for itself. Deactivate with `is_active: false`; never deleted."""

    queryset = OpdSchedule.objects.select_related("doctor", "hospital").order_by("id")
    serializer_class = OpdScheduleOut
    permission_classes = [PublicReadDoctorWrite]
    filterset_class = OpdScheduleFilter
    ordering_fields = ["id", "start_time", "valid_from"]
    audit_object_type = "opd_schedule"
    public_read, active_lookups = True, ("hospital__is_active",)

    @extend_schema(request=OpdScheduleIn, responses={201: OpdScheduleOut})
    def create(self, request, *args, **kwargs):
        data = OpdScheduleIn(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        schedule = services.opd_schedule_create(by=request.user, data=dict(data.validated_data))
        return Response(OpdScheduleOut(schedule).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=OpdScheduleIn, responses={200: OpdScheduleOut})
    def update(self, request, *args, partial=False, **kwargs):
        data = OpdScheduleIn(self.get_object(), data=request.data, partial=partial, context={"request": request})
        data.is_valid(raise_exception=True)
        self.perform_update(data)
        return Response(OpdScheduleOut(data.instance).data)

    @extend_schema(request=OpdScheduleIn, responses={200: OpdScheduleOut})
    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

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


@extend_schema(tags=["opd"])
class SlotViewSet(
    CachedListMixin, ScopedQuerysetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Bookable OPD slots; times are returned with the hospital's UTC offset. Public read; staff of the
    hospital (and the doctor itself) add slots and change capacity or status. Never deleted (set
    `status: cancelled`)."""

    queryset = Slot.objects.select_related("hospital", "doctor__user").order_by("start", "id")
    serializer_class = SlotOut
    permission_classes = [PublicReadDoctorWrite]
    public_read, active_lookups = True, ("hospital__is_active",)
    filterset_class = SlotFilter
    ordering_fields = ["start", "id", "booked", "capacity"]
    throttle_scope = "booking"  # counted by the hold action only (the one with a throttle class)

    # The columns SlotOut reads (the list is the busiest public read: no 60-column rows).
    list_columns = (
        *("id", "hospital_id", "doctor_id", "opd_schedule_id", "start", "end", "local_date"),
        *("capacity", "booked", "hold_count", "status"),
        *("hospital__timezone", "hospital__is_active", "hospital__opd_status"),
        *("doctor__specialization", "doctor__department", "doctor__is_available", "doctor__user__fullname"),
    )

    def get_queryset(self):
        # `held` for every slot of the page in the page's one query (0 without a look at the holds
        # for slots nobody holds).
        queryset = super().get_queryset().with_held()
        return queryset.only(*self.list_columns) if self.action == "list" else queryset

    # Bookable listings (`available=true`, what patients browse) are kept on the read cache until the
    # next committed write or until the first slot counted starts: the only two ways the set of
    # bookable slots changes (a slot never becomes bookable by time passing).
    def list_cache_scope(self, request) -> str | None:
        # Read as the `available` filter reads it (django-filter's widget).
        if BooleanWidget().value_from_datadict(request.query_params, {}, "available") is not True:
            return None
        return visibility_scope(request.user)

    def list_cache_topics(self, request) -> list[str] | None:
        # One hospital's bookable slots change only with its slots, doctors and the hospital itself.
        hospital_ids = request.query_params.getlist("hospital_id")
        if len(hospital_ids) == 1 and hospital_ids[0].isascii() and hospital_ids[0].isdigit():
            return slot_list_topics(int(hospital_ids[0]))
        return None

    def list_cache_totals(self, queryset) -> dict:
        totals = queryset.aggregate(count=Count("pk"), first_start=Min("start"))
        # A hold lapsing frees its seat with no write: the page holds until the first one lapses.
        lapse = Hold.objects.filter(status=Hold.Status.ACTIVE, expires_at__gt=timezone.now()).aggregate(
            at=Min("expires_at")
        )
        return {**totals, "next_hold_lapse": lapse["at"]}

    def list_cache_still_valid(self, entry: dict) -> bool:
        now = timezone.now()
        lapse = entry.get("next_hold_lapse")
        return (entry["first_start"] is None or entry["first_start"] > now) and (lapse is None or lapse > now)

    def _out(self, slot: Slot) -> dict:
        return SlotOut(Slot.objects.select_related("hospital", "doctor__user").with_held().get(pk=slot.pk)).data

    @extend_schema(request=SlotCreateIn, responses={201: SlotOut})
    def create(self, request, *args, **kwargs):
        data = SlotCreateIn(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        slot = services.slot_create(by=request.user, doctor=values.pop("doctor_id"), **values)
        return Response(self._out(slot), status=status.HTTP_201_CREATED)

    @extend_schema(request=SlotUpdateIn, responses={200: SlotOut})
    def partial_update(self, request, *args, **kwargs):
        """Change `capacity` (never below `booked` -> 409) and/or `status` (cancelled only without
        active bookings -> else 409)."""
        slot = self.get_object()
        data = SlotUpdateIn(data=request.data)
        data.is_valid(raise_exception=True)
        slot = services.slot_update(by=request.user, slot=slot, **data.validated_data)
        return Response(self._out(slot))

    @extend_schema(
        tags=["appointments"],
        request=HoldCreateIn,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: HoldOut, **IDEMPOTENCY_RESPONSES},
    )
    @action(
        detail=True,
        methods=["post"],
        permission_classes=[HoldPlacement],
        throttle_classes=[ScopedRateThrottle],
    )
    @idempotent(HOLD_ROUTE)
    def hold(self, request, pk=None):
        """Keep a seat for `HOLD_MINUTES` while the patient confirms; book it with `POST /appointments
        {hold_id}`. A patient (or donor) for themselves; admin, or the slot's hospital admin or doctors,
        for a patient (`patient_id`). Full, closed, already held or booked by the patient -> 409."""
        slot = self.get_object()
        data = HoldCreateIn(data=request.data)
        data.is_valid(raise_exception=True)
        hold = services.hold_create(by=request.user, slot_id=slot.pk, **data.validated_data)
        return Response(HoldOut(hold).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["opd"])
class AvailableSlotViewSet(SlotViewSet):
    """Slots that can be booked now (`GET /api/v1/slots?available=true`)."""

    def get_queryset(self):
        return super().get_queryset().bookable()


APPOINTMENT_TRANSITION = {"check_in": "checked_in", "complete": "completed", "no_show": "no_show"}


@extend_schema(tags=["appointments"])
class AppointmentViewSet(
    ExportMixin, ClinicalReadAuditMixin, ScopedQuerysetMixin, mixins.ListModelMixin, viewsets.GenericViewSet
):
    """OPD appointments. Visible to the patient, the slot's doctor, the hospital's admin and admin;
    anyone else gets 404. Never deleted: cancel instead."""

    queryset = Appointment.objects.select_related("patient", "doctor__user", "hospital", "slot")
    serializer_class = AppointmentOut
    permission_classes = [AppointmentAccess]
    filterset_class = AppointmentFilter
    ordering_fields = ["id", "created_at", "start", "token_number"]
    owner_lookups = ("patient_id",)
    hospital_lookups = {Role.HOSPITAL_ADMIN: "hospital_id"}
    user_lookups = {Role.DOCTOR: "doctor__user_id"}
    audit_object_type = "appointment"
    throttle_scope = "booking"
    export_name = "appointments"
    export_columns = {
        "start": Column(("slot__start", "hospital__timezone"), convert=local_iso),
        "end": Column(("slot__end", "hospital__timezone"), convert=local_iso),
    }
    export_window = (("from",), ("to",))

    def get_queryset(self):
        return super().get_queryset().annotate(start=F("slot__start")).order_by("-id")

    def get_throttles(self):
        return [ScopedRateThrottle()] if self.action == "create" else []

    def _out(self, appointment: Appointment):
        return AppointmentOut(self.queryset.get(pk=appointment.pk)).data

    @extend_schema(
        request=AppointmentCreateIn,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: AppointmentOut, **IDEMPOTENCY_RESPONSES},
    )
    @idempotent(BOOKING_ROUTE)
    def create(self, request, *args, **kwargs):
        """Book a seat in a slot for the caller (staff of the slot's hospital may pass `patient_id`), or
        the seat an active hold keeps (`hold_id`). Unknown slot or hold -> 404; wrong hospital_id or a
        started slot -> 400; full, closed, OPD closed, already booked by this patient, or a hold
        expired, used or released -> 409."""
        data = AppointmentCreateIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        if "hold_id" in values:
            appointment = services.hold_book(by=request.user, **values)
        else:
            appointment = services.appointment_book(by=request.user, **values)
        return Response(AppointmentOut(appointment).data, status=status.HTTP_201_CREATED)

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
class HoldViewSet(ScopedQuerysetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Slot holds (`POST /slots/{id}/hold` makes one). Visible to the patient, the hospital's admin and
    doctors, and admin; anyone else gets 404. DELETE releases an active hold (the record is kept)."""

    queryset = Hold.objects.order_by("-id")
    serializer_class = HoldOut
    permission_classes = [HoldAccess]
    filterset_class = HoldFilter
    ordering_fields = ["id", "expires_at", "created_at"]
    owner_lookups = ("patient_id",)
    hospital_lookups = {Role.HOSPITAL_ADMIN: "hospital_id", Role.DOCTOR: "hospital_id"}

    @extend_schema(request=None, responses={204: None})
    def destroy(self, request, *args, **kwargs):
        """Release an active hold: its seat is free again. Used, released or expired -> 409."""
        services.hold_release(by=request.user, hold=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["appointments"])
class MyAppointmentViewSet(AppointmentViewSet):
    """The caller's own appointments (as the patient)."""

    def get_queryset(self):
        return super().get_queryset().filter(patient_id=self.request.user.pk)


@extend_schema(tags=["visits"])
class VisitViewSet(ClinicalReadAuditMixin, ScopedQuerysetMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Visits with their prescriptions. Recorded by the doctor for its own patient; readable by the
    patient, that doctor, the hospital's admin and admin. Never changed or deleted."""

    queryset = Visit.objects.prefetch_related("prescriptions").order_by("-visited_at", "-id")
    serializer_class = VisitOut
    permission_classes = [VisitAccess]
    filterset_class = VisitFilter
    ordering_fields = ["visited_at", "id"]
    owner_lookups = ("patient_id",)
    hospital_lookups = {Role.HOSPITAL_ADMIN: "hospital_id"}
    user_lookups = {Role.DOCTOR: "doctor__user_id"}
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
