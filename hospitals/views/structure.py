"""Floors and wards: public reads; the administrator and the hospital's admin write."""

from drf_spectacular.utils import extend_schema
from rest_framework import status

from hospitals import serializers, structure
from hospitals.filters import FloorFilter, WardFilter
from hospitals.models import Floor, Ward
from hospitals.views.common import StructureViewSet


@extend_schema(tags=["floors"])
class FloorViewSet(StructureViewSet):
    """Floors of multi-level hospitals. Public reads; admin and the hospital's admin write; DELETE is 405."""

    queryset = Floor.objects.all()
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
        floor = structure.floor_create(
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
        return self.output(structure.floor_update(by=request.user, floor=floor, data=data.validated_data))

    @extend_schema(responses={200: serializers.FloorOut})
    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)


@extend_schema(tags=["wards"])
class WardViewSet(StructureViewSet):
    """Wards: on a floor of a multi-level hospital, or directly under a single-level one. DELETE is 405."""

    queryset = Ward.objects.all()
    filterset_class = WardFilter
    ordering_fields = ["id", "name", "ward_number", "ward_type"]
    search_fields = ["name", "ward_number"]
    input_serializer_class = serializers.WardIn
    output_serializer_class = serializers.WardOut

    @extend_schema(responses={201: serializers.WardOut})
    def create(self, request, *args, **kwargs):
        data = serializers.WardIn(data=request.data)
        data.is_valid(raise_exception=True)
        return self.output(structure.ward_create(by=request.user, data=data.validated_data), 201)

    @extend_schema(responses={200: serializers.WardOut})
    def update(self, request, *args, **kwargs):
        ward = self.get_object()
        data = serializers.WardIn(data=request.data, partial=kwargs.pop("partial", False))
        data.is_valid(raise_exception=True)
        return self.output(structure.ward_update(by=request.user, ward=ward, data=data.validated_data))

    @extend_schema(responses={200: serializers.WardOut})
    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)
