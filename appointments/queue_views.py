"""OPD queues and the public queue board (API.md section 17): thin views, the rules are in
services/queues.py."""

import django_filters
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from appointments.queue_models import OpdQueue, QueueEntry
from appointments.queue_selectors import queue_board, with_counters
from appointments.queue_serializers import (
    CallIn,
    OpdQueueOut,
    QueueBoardOut,
    QueueCreateIn,
    QueueEntryIn,
    QueueEntryOut,
    queue_entry_out,
)
from appointments.services import queues as services
from appointments.services.statement_rows import loaded
from hms.api.filters import FilterSet
from hms.api.idempotency import IDEMPOTENCY_KEY_PARAMETER, IDEMPOTENCY_RESPONSES, idempotent
from hms.api.permissions import role_of
from hms.api.roles import STAFF_ROLES, Role
from hms.api.scoped_lookup import ScopedLookup
from hms.api.scoping import ScopedQuerysetMixin
from hms.api.serializers import MAX_ID
from hospitals.models import Hospital

QUEUE_ROLES = (Role.ADMIN, *STAFF_ROLES)
# call-next's queue, with its hospital's time zone (the service reads the hospital's local date).
QUEUE_FIELDS = ("id", "doctor_id", "hospital_id", "date", "room", "last_walk_in_token", "created_at", "updated_at")
ENTRY_ID = OpenApiParameter("entry_id", int, OpenApiParameter.PATH, description="The entry's id.")


class QueueStaff(BasePermission):
    """Queues are run by hospital staff (hospital admin, doctors, drivers) and admin; which hospital's
    queues each sees is the scoped queryset, which hospital's each may change the service's rule."""

    message = "Only hospital staff or an administrator may see and run OPD queues."

    def has_permission(self, request, view):
        return role_of(request.user) in QUEUE_ROLES


class QueueFilter(FilterSet):
    date = django_filters.DateFilter(field_name="date")

    class Meta:
        model = OpdQueue
        fields = ["doctor_id", "hospital_id", "date"]


class QueueEntryFilter(FilterSet):
    status = django_filters.ChoiceFilter(choices=QueueEntry.Status.choices)
    priority = django_filters.ChoiceFilter(choices=QueueEntry.Priority.choices)

    class Meta:
        model = QueueEntry
        fields = ["status", "priority"]


def _entry_action(name: str, doc: str, *, body=None):
    """One of the entry actions (`QueueEntry.ACTIONS`): `POST /queues/{id}/entries/{entry_id}/<name>`,
    run by `QueueViewSet._act`; `body` is the request body it documents (CallIn: an optional room)."""

    def act(self, request, pk=None, entry_id=None):
        return self._act(request, pk, entry_id, name)

    act.__name__ = act.__qualname__ = name
    act.__doc__ = doc
    routed = action(detail=True, methods=["post"], url_path=rf"entries/(?P<entry_id>[0-9]{{1,18}})/{name}",
                    filterset_class=None)(act)  # fmt: skip
    return extend_schema(request=body, parameters=[ENTRY_ID], responses={200: QueueEntryOut})(routed)


@extend_schema(tags=["queues"])
class QueueViewSet(ScopedQuerysetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """OPD queues, one per doctor and hospital-local date. Staff of the doctor's hospital and admin;
    another hospital's queue is 404."""

    queryset = OpdQueue.objects.all()
    serializer_class = OpdQueueOut
    permission_classes = [QueueStaff]
    filterset_class = QueueFilter
    ordering_fields = ["id", "date"]
    active_lookups = ("hospital__is_active",)
    hospital_lookups = dict.fromkeys(STAFF_ROLES, "hospital_id")
    # call-next's lookup of its queue: the scoped queryset's row, compiled once per caller's shape.
    call_next_queue = ScopedLookup(OpdQueue, *QUEUE_FIELDS, "hospital__timezone")

    def get_queryset(self):
        return with_counters(super().get_queryset()).order_by("-date", "id")

    def _out(self, queue: OpdQueue) -> dict:
        return OpdQueueOut(with_counters(OpdQueue.objects.filter(pk=queue.pk)).get()).data

    @extend_schema(
        request=QueueCreateIn,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: OpdQueueOut, 200: OpdQueueOut, **IDEMPOTENCY_RESPONSES},
    )
    @idempotent("queue-open")
    def create(self, request, *args, **kwargs):
        """Open the doctor's queue for a date: 201, or 200 with the queue already open. Staff of the
        doctor's hospital and admin; unknown doctor -> 400."""
        data = QueueCreateIn(data=request.data)
        data.is_valid(raise_exception=True)
        queue, created = services.queue_open(by=request.user, **data.validated_data)
        return Response(self._out(queue), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=QueueEntry.Status.values),
            OpenApiParameter("priority", str, enum=QueueEntry.Priority.values),
        ],
        responses={200: QueueEntryOut(many=True)},
    )
    @action(detail=True, methods=["get"], filterset_class=None, ordering_fields=[])
    def entries(self, request, pk=None):
        """The queue's entries in token order (names included: staff only)."""
        queue = self.get_object()
        entries = QueueEntryFilter(request.query_params, queryset=QueueEntry.objects.filter(queue=queue))
        if not entries.is_valid():
            raise ValidationError(entries.errors)
        page = self.paginate_queryset(entries.qs.order_by("token", "id"))
        return self.get_paginated_response(QueueEntryOut(page, many=True).data)

    @extend_schema(
        request=QueueEntryIn,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: QueueEntryOut, **IDEMPOTENCY_RESPONSES},
    )
    @entries.mapping.post
    @idempotent("queue-entry-add")
    def add_entry(self, request, pk=None):
        """Add a walk-in (`patient_id` or `name`, `priority`): it gets the queue's next walk-in token
        (1001, 1002, ...; never reused). The patient already waiting here -> 409 already_queued; a
        past day's queue -> 409 queue_closed."""
        queue = self.get_object()
        data = QueueEntryIn(data=request.data)
        data.is_valid(raise_exception=True)
        entry = services.queue_entry_add(by=request.user, queue=queue, **data.validated_data)
        return Response(QueueEntryOut(entry).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=CallIn, responses={200: QueueEntryOut})
    @action(detail=True, methods=["post"], url_path="call-next", filterset_class=None)
    def call_next(self, request, pk=None):
        """Call the next waiting entry (urgent, then senior, then normal; then token) to `room`.
        Nobody waiting -> 409 queue_empty. Two desks calling at once never get the same entry."""
        values = CallIn.plain(request.data)
        data = None
        if values is None:
            data = CallIn(data=request.data)
            values = data.validated_data if data.is_valid() else None
        pk = int(self.kwargs["pk"])  # the route takes digits only
        if values is not None and pk <= MAX_ID:
            # One statement finds the queue (only one the caller may call now) and calls its next entry.
            room = values.get("room", "")
            entry = services.queue_call_next_by_id(by=request.user, queue_id=pk, room=room)
            if entry is not None:
                return Response(queue_entry_out(entry))
        # Not called: the lookup, the body and the service's rules answer why, in get_object's order.
        queue = self._call_next_queue()
        if values is None:
            data.is_valid(raise_exception=True)
        entry = services.queue_call_next(by=request.user, queue=queue, room=values.get("room", ""))
        return Response(queue_entry_out(entry))

    def _call_next_queue(self) -> OpdQueue:
        """`get_object()` for call-next (the same rows seen, the same 404) without the queryset machinery
        on every call, which cost more than the rest of the call. The queue comes with its hospital's
        id and time zone (the rest of the hospital loads on access)."""
        row = self.call_next_queue.row(self, self.kwargs["pk"])
        if row is None:
            raise NotFound()
        timezone = row.pop("hospital__timezone")
        hospital = loaded(Hospital, {}, id=row["hospital_id"], timezone=timezone)
        queue = loaded(OpdQueue, {"hospital": hospital}, **row)
        self.check_object_permissions(self.request, queue)
        return queue

    def _act(self, request, pk, entry_id, action_name: str) -> Response:
        queue = self.get_object()
        entry = get_object_or_404(QueueEntry.objects.select_related("queue"), pk=entry_id, queue=queue)
        data = CallIn(data=request.data)
        data.is_valid(raise_exception=True)
        entry = services.queue_entry_act(
            by=request.user, entry=entry, action=action_name, room=data.validated_data.get("room", "")
        )
        return Response(QueueEntryOut(entry).data)

    skip = _entry_action("skip", "waiting or called -> skipped (not here when called). Else 409 illegal_transition.")
    recall = _entry_action(
        "recall",
        """called or skipped -> called again (announced anew, optionally to `room`). Else 409
        illegal_transition.""",
        body=CallIn,
    )
    start = _entry_action("start", "called -> in_consultation. Else 409 illegal_transition.")
    done = _entry_action("done", "in_consultation -> done. Else 409 illegal_transition.")


@extend_schema(tags=["queues"])
class QueueBoardView(APIView):
    """The public queue board of a hospital for today (its local date): per doctor the room, the token
    now served and how many wait. No patient names; no sign-in. Unknown or deactivated hospital -> 404."""

    permission_classes = []
    authentication_classes = []

    @extend_schema(responses={200: QueueBoardOut}, auth=[])
    def get(self, request, id=None):
        zone = Hospital.objects.filter(pk=id, is_active=True).values_list("timezone", flat=True).first()
        if zone is None:
            raise NotFound("No such hospital.")
        return Response(queue_board(int(id), zone_name=zone))
