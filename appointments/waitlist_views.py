"""The waitlist (`/api/v1/waitlist`) and doctor leave (`/api/v1/doctors/{doctor_id}/leaves`), API.md
section 17: thin viewsets over services/waitlist.py and services/leave.py."""

from django.db.models import Count, OuterRef, Prefetch, Subquery, Value
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.response import Response

from appointments.models import Doctor, Slot
from appointments.permissions import BOOKING_ROLES, SeatRequestScope, manages_doctor
from appointments.services import leave as leave_services
from appointments.services import waitlist as waitlist_services
from appointments.waitlist_filters import LeaveFilter, WaitlistFilter
from appointments.waitlist_models import DoctorLeave, WaitlistEntry
from appointments.waitlist_serializers import (
    LeaveConflictOut,
    LeaveCreatedOut,
    LeaveCreateIn,
    LeaveOut,
    WaitlistCreateIn,
    WaitlistOut,
)
from hms.api.idempotency import idempotent
from hms.api.permissions import role_of
from hms.api.scoping import sees_deactivated


class WaitlistAccess(BasePermission):
    """Signed-in callers read what the scoped queryset shows them; whoever may book joins and leaves
    (patients and donors for themselves, staff for a patient of their hospital)."""

    message = "Your role may not use the waitlist."

    def has_permission(self, request, view):
        role = role_of(request.user)
        if role is None:
            return False
        return request.method in SAFE_METHODS or role in BOOKING_ROLES


def _with_ahead(queryset):
    """Each entry with the number of waiting entries ahead of it (its position - 1), in the list's query."""
    ahead = (
        WaitlistEntry.objects.filter(
            doctor_id=OuterRef("doctor_id"),
            date=OuterRef("date"),
            status=WaitlistEntry.Status.WAITING,
            pk__lt=OuterRef("pk"),
        )
        .order_by()
        .values("doctor_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return queryset.annotate(ahead=Coalesce(Subquery(ahead), Value(0)))


@extend_schema(tags=["appointments"])
class WaitlistViewSet(
    SeatRequestScope,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """The waitlist: FIFO per doctor and date. Visible to the patient, the hospital's admin and doctors,
    and admin; anyone else gets 404. DELETE leaves the line (the record is kept, status `left`)."""

    queryset = WaitlistEntry.objects.select_related("hold")
    serializer_class = WaitlistOut
    permission_classes = [WaitlistAccess]
    filterset_class = WaitlistFilter
    ordering_fields = ["id", "date", "created_at"]

    def get_queryset(self):
        return _with_ahead(super().get_queryset()).order_by("-id")

    def _out(self, entry: WaitlistEntry) -> dict:
        return WaitlistOut(_with_ahead(WaitlistEntry.objects.select_related("hold")).get(pk=entry.pk)).data

    @idempotent(
        "waitlist-list",
        request=WaitlistCreateIn,
        responses={201: WaitlistOut},
    )
    def create(self, request, *args, **kwargs):
        """Join the line for a seat with a doctor on a date (optionally a window of start times): a
        patient for itself; admin, or staff of the doctor's hospital, for a patient (`patient_id`). When
        a matching seat frees, the earliest waiting entry gets an offer: a hold for
        `WAITLIST_OFFER_MINUTES` (book it with `POST /appointments {hold_id}`). Already waiting for the
        doctor and date -> 409 already_waiting."""
        data = WaitlistCreateIn(data=request.data)
        data.is_valid(raise_exception=True)
        entry = waitlist_services.waitlist_join(by=request.user, **data.validated_data)
        return Response(self._out(entry), status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None})
    def destroy(self, request, *args, **kwargs):
        """Leave the line; an offer held is declined and passes to the next entry. Booked, expired or
        left -> 409 waitlist_closed."""
        waitlist_services.waitlist_leave(by=request.user, entry=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class LeaveAccess(BasePermission):
    """The doctor itself, its hospital's admin and admin read and write a doctor's leave."""

    message = "Only an administrator, the hospital's admin or the doctor itself manages this doctor's leave."

    def has_permission(self, request, view):
        if role_of(request.user) is None:
            return False
        return manages_doctor(request.user, view.doctor)


DOCTOR_ID_PARAMETER = OpenApiParameter("doctor_id", int, OpenApiParameter.PATH, description="The doctor's id.")


@extend_schema(tags=["doctors"], parameters=[DOCTOR_ID_PARAMETER])
class DoctorLeaveViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """A doctor's leave: slots inside close; generation skips it. The doctor itself, its hospital's admin
    and admin (others 403; an unknown doctor 404)."""

    serializer_class = LeaveOut
    permission_classes = [LeaveAccess]
    filterset_class = LeaveFilter
    ordering_fields = ["start", "id"]
    lookup_value_regex = "[0-9]{1,18}"

    @property
    def doctor(self) -> Doctor:
        if not hasattr(self, "_doctor"):
            doctors = Doctor.objects.select_related("hospital")
            if not sees_deactivated(self.request.user):
                doctors = doctors.filter(hospital__is_active=True, user__is_active=True)
            self._doctor = get_object_or_404(doctors, pk=self.kwargs.get("doctor_id"))
        return self._doctor

    def check_permissions(self, request):
        # An unknown (or hidden) doctor is 404 for everyone signed in, before who-may-see-its-leave.
        if role_of(request.user) is not None:
            self.doctor  # noqa: B018 - raises the 404
        super().check_permissions(request)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return DoctorLeave.objects.none()
        return (
            DoctorLeave.objects.filter(doctor=self.doctor, deleted_at__isnull=True)
            .prefetch_related(Prefetch("closed_slots", queryset=Slot.objects.only("pk")))
            .order_by("start", "id")
        )

    @idempotent(
        "doctor-leave-list",
        request=LeaveCreateIn,
        responses={201: LeaveCreatedOut, 409: LeaveConflictOut},
    )
    def create(self, request, *args, **kwargs):
        """Record leave: the doctor's future slots overlapping [start, end) close. Active bookings inside
        -> 409 leave_has_bookings with `bookings` listed, unless `cancel_bookings: true` (each cancelled,
        `cancel_reason: "doctor unavailable"`, the patient notified). Overlapping another leave -> 409
        leave_overlaps."""
        data = LeaveCreateIn(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            leave, cancelled = leave_services.leave_create(by=request.user, doctor=self.doctor, **data.validated_data)
        except leave_services.LeaveHasBookings as refusal:
            body = {
                "type": "client_error",
                "errors": [{"code": refusal.get_codes(), "detail": str(refusal.detail), "attr": None}],
                "bookings": LeaveConflictOut().fields["bookings"].to_representation(refusal.bookings),
            }
            return Response(body, status=status.HTTP_409_CONFLICT)
        leave = self.get_queryset().get(pk=leave.pk)
        return Response(LeaveCreatedOut(leave, context={"cancelled": cancelled}).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None})
    def destroy(self, request, *args, **kwargs):
        """Delete a leave that has not started: the slots it closed reopen (and their seats go to the
        waitlist). Started -> 409 leave_started. The record is kept."""
        leave_services.leave_delete(by=request.user, leave=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
