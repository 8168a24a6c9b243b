"""Floors and wards: public reads; the administrator and the hospital's admin write."""

from drf_spectacular.utils import extend_schema

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
    row_object, row_services = "floor", {"update": structure.floor_update}

    def create_row(self, values):
        return structure.floor_create(
            by=self.request.user,
            hospital=values.get("hospital"),
            floor_number=values["floor_number"],
            name=values.get("name", ""),
        )


@extend_schema(tags=["wards"])
class WardViewSet(StructureViewSet):
    """Wards: on a floor of a multi-level hospital, or directly under a single-level one. DELETE is 405."""

    queryset = Ward.objects.all()
    filterset_class = WardFilter
    ordering_fields = ["id", "name", "ward_number", "ward_type"]
    search_fields = ["name", "ward_number"]
    input_serializer_class = serializers.WardIn
    output_serializer_class = serializers.WardOut
    row_object = "ward"
    row_services = {"create": structure.ward_create, "update": structure.ward_update}
