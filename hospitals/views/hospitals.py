"""Hospitals: public reads with the bed summary and live availability, floors of a hospital, writes by managers."""

import copy
import json

from django import forms
from django.conf import settings
from django.db import router
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from hms.api.listcache import CachedListMixin
from hms.api.rawrows import ModelRows, Representation, plain_page
from hms.api.scoping import ScopedQuerysetMixin, sees_deactivated, visibility_scope
from hms.api.viewsets import ServiceWriteMixin
from hms.db_router import replica_reads
from hospitals import geo, selectors, serializers, services, structure
from hospitals.availability import answers_plain_json, availability_json, detail_json
from hospitals.filters import HospitalFilter
from hospitals.models import Hospital
from hospitals.permissions import HospitalPermission
from hospitals.views.common import PUBLIC

# HospitalOut's rows without a serializer per row (no `near`: no distance).
_HOSPITAL_ROWS = ModelRows(Hospital, serializers.HOSPITAL_FIELDS)
_HOSPITAL_OUT = Representation(serializers.HospitalOut, serializers.HOSPITAL_FIELDS, {"distance_km": None})
# `?near=` with nothing else but `radius_km` and a page: its two values read by the filter set's own form
# fields (private copies), without building the filter set and its form for every request.
NEAR_PARAMETERS = frozenset({"near", "radius_km", "page", "page_size"})
_NEAR_FIELD = copy.deepcopy(HospitalFilter.base_filters["near"]).field
_RADIUS_FIELD = copy.deepcopy(HospitalFilter.base_filters["radius_km"]).field
_NEAR_ROWS = selectors.KeptNearRows()


def _hospital_id(pk: str) -> int:
    """The id of a detail route's hospital; 404 for what no row can have (and no 64-bit overflow)."""
    try:
        hospital_id = int(pk)
    except ValueError:
        raise NotFound from None
    if not 0 < hospital_id < 2**63:
        raise NotFound
    return hospital_id


def _body_response(request, body: bytes | None):
    """JSON bytes written as JSONRenderer would (hospitals.availability) as the answer; None is the 404.
    Another rendering asked for in Accept (an `indent`): DRF renders the same figures."""
    if body is None:
        raise NotFound
    if answers_plain_json(request):
        return HttpResponse(body, content_type=JSONRenderer.media_type)
    return Response(json.loads(body))


@extend_schema_view(
    list=extend_schema(summary="Active hospitals (public)", auth=PUBLIC),
    retrieve=extend_schema(summary="A hospital with its bed summary (public)", auth=PUBLIC),
)
@extend_schema(tags=["hospitals"])
@replica_reads("list", "retrieve")  # public, lag-tolerant: on the read replica when one is configured
class HospitalViewSet(
    ServiceWriteMixin,
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
    output_serializer_class = serializers.HospitalDetailOut
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

    def list(self, request, *args, **kwargs):
        # With the read cache on, kept pages answer (computed below on a miss); off, the plain page below.
        if settings.READ_CACHE_SECONDS <= 0:
            entry = self._plain_page_entry(request) or self._near_page_entry(request)
            if entry is not None:
                return self.paginator.response_from_entry(entry, request)
        return super().list(request, *args, **kwargs)

    def _list_cache_entry(self, request) -> dict:
        return self._plain_page_entry(request) or self._near_page_entry(request) or super()._list_cache_entry(request)

    def _plain_page_entry(self, request) -> dict | None:
        """The list every client polls (and /hospital/all) asks for nothing but a page of the active
        hospitals: one query for the page and its count, rows written without a serializer per row.
        None for anything else (filters, search, ordering, `near`: the generic list), or a page past
        the end (the paginator's 404)."""
        page = plain_page(self, request)
        if page is None:
            return None
        number, size = page
        count, rows = _HOSPITAL_ROWS.page(true_field="is_active", limit=size, offset=(number - 1) * size)
        if count is None and number > 1:
            return None
        return {"count": count or 0, "number": number, "results": [_HOSPITAL_OUT(row) for row in rows]}

    def _near_page_entry(self, request) -> dict | None:
        """The hospitals near a point (`near`, `radius_km` and a page, nothing else), as the generic list
        answers them (HospitalFilter: active hospitals within the radius, nearest first): compiled once
        per shape (selectors.KeptNearRows) for the page and its count, rows written without a serializer
        per row. None for anything else,
        a value the filter set refuses (the generic list's 400), or a page past the end (its 404)."""
        params = request.query_params
        if "near" not in params or not NEAR_PARAMETERS.issuperset(params):
            return None
        if any(len(values) != 1 or not values[0].strip() for _name, values in params.lists()):
            return None
        try:
            point = _NEAR_FIELD.clean(params["near"])
            radius = _RADIUS_FIELD.clean(params["radius_km"]) if "radius_km" in params else None
        except forms.ValidationError:
            return None
        if point is None:
            return None
        # The page as the paginator reads it (a malformed one is its 400); page 0 is its 404.
        size = self.paginator.get_page_size(request)
        number = self.paginator.get_page_number(request, None)
        if number < 1 or number * size >= 2**62:
            return None
        radius_km = float(radius) if radius is not None else geo.DEFAULT_RADIUS_KM

        def build(lat: float, lng: float, radius_km: float):
            queryset = geo.nearest(self.get_queryset().filter(is_active=True), lat, lng, radius_km=radius_km)
            return queryset.values(*serializers.HOSPITAL_FIELDS, "distance_km")

        key = (type(self), self.visibility_key())
        rows = _NEAR_ROWS.rows(key, build, *point, radius_km, alias=router.db_for_read(Hospital))
        count = rows.count()
        if number > 1 and (number - 1) * size >= count:
            return None
        results = []
        for row in rows.page((number - 1) * size, size) if count else ():
            item = _HOSPITAL_OUT([row[name] for name in serializers.HOSPITAL_FIELDS])
            item["distance_km"] = None if row["distance_km"] is None else round(row["distance_km"], 3)
            results.append(item)
        return {"count": count, "number": number, "results": results}

    def retrieve(self, request, *args, **kwargs):
        # One query: the hospital row (this viewset's scope: active hospitals, every one for
        # administrators) and its bed counts, written as HospitalDetailOut's bytes; with the read cache
        # on, kept until a write to the hospital or its beds (as availability's are).
        body = detail_json(
            _hospital_id(kwargs[self.lookup_url_kwarg or self.lookup_field]),
            active_only=not sees_deactivated(request.user),
            fields_of=lambda hospital: _HOSPITAL_OUT([getattr(hospital, name) for name in serializers.HOSPITAL_FIELDS]),
            cache_scope=visibility_scope(request.user),
        )
        return _body_response(request, body)

    @extend_schema(request=serializers.HospitalCreateIn, responses={201: serializers.HospitalCreatedOut})
    def create(self, request, *args, **kwargs):
        data = serializers.HospitalCreateIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        admin_data = values.pop("admin", None)
        hospital, admin = services.hospital_create(by=request.user, data=values, admin_data=admin_data)
        out = serializers.HospitalCreatedOut(hospital, context={**self.get_serializer_context(), "admin": admin})
        return Response(out.data, status=status.HTTP_201_CREATED)

    def update_row(self, hospital, values):
        return services.hospital_update(by=self.request.user, hospital=hospital, data=dict(values))

    @extend_schema(summary="Deactivate a hospital (data kept)", responses={204: None})
    def destroy(self, request, *args, **kwargs):
        services.hospital_deactivate(by=request.user, hospital=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Live bed availability of a hospital (public)",
        auth=PUBLIC,
        responses={200: serializers.BedSummaryOut},
    )
    @action(detail=True, methods=["get"], permission_classes=[AllowAny], filter_backends=[])
    def availability(self, request, pk=None):
        # One query answers both "may the caller see this hospital?" (this viewset's scope: every active
        # hospital, deactivated ones for administrators) and the counts, written straight into the bytes
        # JSONRenderer would write; with the read cache on, those bytes are kept and served as stored.
        body = availability_json(
            _hospital_id(pk),
            active_only=not sees_deactivated(request.user),
            cache_scope=visibility_scope(request.user),
        )
        return _body_response(request, body)

    @extend_schema(
        methods=["GET"],
        summary="Floors of a hospital (public)",
        auth=PUBLIC,
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
            floor = structure.floor_create(by=request.user, hospital=hospital, **data.validated_data)
            return Response(serializers.FloorOut(floor).data, status=status.HTTP_201_CREATED)
        floors = hospital.floors.order_by("id")
        page = self.paginate_queryset(floors)
        return self.get_paginated_response(serializers.FloorOut(page, many=True).data)
