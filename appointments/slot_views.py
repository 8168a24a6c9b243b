"""Slots and holds: the busiest public read (the bookable-slots list, kept on the read cache) and the
seats kept while a patient confirms. Thin viewsets, as in views.py (which re-exports these)."""

from django.conf import settings
from django.db import router
from django.db.models import Count, Min
from django.utils import timezone
from django_filters.widgets import BooleanWidget
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, NotFound
from rest_framework.response import Response

from appointments import services, slot_counts
from appointments.filters import HoldFilter, SlotFilter
from appointments.holds import HoldCreateIn, HoldOut, hold_out
from appointments.models import Hold, Slot
from appointments.permissions import HoldAccess, HoldPlacement, PublicReadDoctorWrite, SeatRequestScope
from appointments.serializers import SlotCreateIn, SlotOut, SlotUpdateIn
from appointments.serializers.slots import SLOT_ROW_COLUMNS, slot_out_row
from appointments.topics import slot_list_topics
from hms.api.idempotency import IDEMPOTENCY_KEY_PARAMETER, IDEMPOTENCY_RESPONSES, idempotent
from hms.api.kept_lists import PAGE_PARAMETERS, KeptListMixin, read_instant
from hms.api.listcache import CachedListMixin
from hms.api.scoped_lookup import ScopedLookup
from hms.api.scoping import ScopedQuerysetMixin, visibility_scope
from hms.api.serializers import MAX_ID
from hms.api.throttling import ScopedRateThrottle
from hms.db_router import replica_reads

HOLD_ROUTE = "slot-hold"


def _one_id(values: list[str]) -> int | None:
    """The id a query parameter names when given exactly once as ASCII digits within the id range."""
    if len(values) != 1 or not (values[0].isascii() and values[0].isdigit()):
        return None
    return int(values[0]) if 0 < int(values[0]) <= MAX_ID else None


@extend_schema(tags=["opd"])
@replica_reads("list")  # public, lag-tolerant: on the read replica when one is configured
class SlotViewSet(
    KeptListMixin,
    CachedListMixin,
    ScopedQuerysetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
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
    # Computed pages: `.values()` rows of the same queryset compiled once per shape (hms.api.kept_lists).
    kept_list_columns = SLOT_ROW_COLUMNS

    # The hold action's slot: its id if the scoped queryset shows it (compiled once per shape).
    hold_slot = ScopedLookup(Slot, "id")

    def _visible_slot_id(self) -> int:
        """The path's slot as get_object finds it (the caller's scope; hidden or unknown -> 404), by its
        id instead of the whole row with its hospital and doctor (the write path reads what it needs)."""
        row = self.hold_slot.row(self, self.kwargs["pk"])
        if row is None:
            raise NotFound("No Slot matches the given query.")
        return row["id"]

    def get_queryset(self):
        # `held` for every slot of the page in the page's one query (0 without a look at the holds
        # for slots nobody holds).
        queryset = super().get_queryset().with_held(read_instant(self.request))
        return queryset.only(*self.list_columns) if self.action == "list" else queryset

    def kept_list_row(self, row: dict, now) -> dict:
        return slot_out_row(row, now)

    # Whether the queryset is the bookable slots already (no `available=true` needed for the count).
    bookable_queryset = False

    def kept_list_count(self, request, now) -> int | None:
        # One hospital's bookable slots (what patients browse, `available=true&hospital_id=`, and
        # nothing else but the page): counted by the maintained counters (appointments/slot_counts.py).
        params = request.query_params
        names = set(params) - set(PAGE_PARAMETERS)
        given = {name: params.getlist(name) for name in names}
        if given.get("available", ["true"]) != ["true"] or (not self.bookable_queryset and "available" not in given):
            return None
        hospital_id = _one_id(given.pop("hospital_id", []))
        given.pop("available", None)
        if given or hospital_id is None:
            return None
        return slot_counts.bookable_count(hospital_id, now, alias=router.db_for_read(Slot))

    def kept_list_answers(self, request) -> bool:
        # Computed (no read cache for this request): the kept rows answer; else the read cache does (and
        # computes a page it does not hold from the kept rows too: `_list_cache_entry`).
        return settings.READ_CACHE_SECONDS <= 0 or self.list_cache_scope(request) is None

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
        hospital_id = _one_id(request.query_params.getlist("hospital_id"))
        return None if hospital_id is None else slot_list_topics(hospital_id)

    def list_cache_totals(self, queryset) -> dict:
        totals = queryset.aggregate(count=Count("pk"), first_start=Min("start"))
        return {**totals, "next_hold_lapse": self._next_hold_lapse()}

    @staticmethod
    def _next_hold_lapse():
        # A hold lapsing frees its seat with no write: the page holds until the first one lapses.
        lapse = Hold.objects.filter(status=Hold.Status.ACTIVE, expires_at__gt=timezone.now()).aggregate(
            at=Min("expires_at")
        )
        return lapse["at"]

    def _list_cache_entry(self, request) -> dict:
        # A page the read cache keeps is computed as a computed page is (kept compiled rows).
        entry = self.kept_list_entry(request)
        if entry is None:
            return super()._list_cache_entry(request)
        first_start = self.kept_list_lowest(request, "start")
        return {**entry, "first_start": first_start, "next_hold_lapse": self._next_hold_lapse()}

    def list_cache_still_valid(self, entry: dict) -> bool:
        now = timezone.now()
        lapse = entry.get("next_hold_lapse")
        return (entry["first_start"] is None or entry["first_start"] > now) and (lapse is None or lapse > now)

    def _out(self, slot: Slot) -> dict:
        return SlotOut(Slot.objects.select_related("hospital", "doctor__user").with_held().get(pk=slot.pk)).data

    @extend_schema(request=SlotCreateIn, responses={201: SlotOut})
    def create(self, request, *args, **kwargs):
        """Add a slot by hand. Another slot of the doctor at that start -> 409 duplicate_slot; an open
        slot inside the doctor's leave -> 409 doctor_on_leave."""
        data = SlotCreateIn(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        slot = services.slot_create(by=request.user, doctor=values.pop("doctor_id"), **values)
        return Response(self._out(slot), status=status.HTTP_201_CREATED)

    @extend_schema(request=SlotUpdateIn, responses={200: SlotOut})
    def partial_update(self, request, *args, **kwargs):
        """Change `capacity` (never below `booked` -> 409) and/or `status` (cancelled only without
        active bookings -> else 409; reopened inside the doctor's leave -> 409 doctor_on_leave)."""
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
        slot_id = self._bindable_slot_id()
        if slot_id is None:
            slot_id = self._visible_slot_id()  # a pk no slot column holds: the lookup's 404
        try:
            values = HoldCreateIn.plain(request.data)
            if values is None:
                data = HoldCreateIn(data=request.data)
                data.is_valid(raise_exception=True)
                values = data.validated_data
            hold = services.hold_create(by=request.user, slot_id=slot_id, **values)
        except APIException:
            # Refused: the slot's visibility answers first, as get_object would have before anything
            # else. A hold that was placed needed the slot's hospital active (HOLD_SQL, or the locking
            # path's row), so the slot was visible: the lookup runs only for a refusal.
            self._visible_slot_id()
            raise
        return Response(hold_out(hold), status=status.HTTP_201_CREATED)

    def _bindable_slot_id(self) -> int | None:
        """The path's slot id as the hold statement binds it (the route takes digits only), or None past
        the id column's range."""
        slot_id = int(self.kwargs["pk"])
        return slot_id if slot_id <= MAX_ID else None


@extend_schema(tags=["opd"])
class AvailableSlotViewSet(SlotViewSet):
    """Slots that can be booked now (`GET /api/v1/slots?available=true`)."""

    bookable_queryset = True

    def get_queryset(self):
        return super().get_queryset().bookable(read_instant(self.request))


@extend_schema(tags=["appointments"])
class HoldViewSet(SeatRequestScope, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Slot holds (`POST /slots/{id}/hold` makes one). Visible to the patient, the hospital's admin and
    doctors, and admin; anyone else gets 404. DELETE releases an active hold (the record is kept)."""

    queryset = Hold.objects.order_by("-id")
    serializer_class = HoldOut
    permission_classes = [HoldAccess]
    filterset_class = HoldFilter
    ordering_fields = ["id", "expires_at", "created_at"]

    @extend_schema(request=None, responses={204: None})
    def destroy(self, request, *args, **kwargs):
        """Release an active hold: its seat is free again. Used, released or expired -> 409."""
        services.hold_release(by=request.user, hold=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
