"""What the viewsets of the hospitals app share: the 404 answer, the public-read declaration, and the
base of the viewsets of a hospital's structure (floors, wards, beds)."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets

from hms.api.scoping import ScopedQuerysetMixin
from hms.api.viewsets import ServiceWriteMixin
from hospitals.permissions import PublicReadManagersWrite

NOT_FOUND = OpenApiResponse(description="No such row, or not visible to the caller.")
# The schema's `auth` of a public read: anonymous, or with a token.
PUBLIC = [{}, {"jwtAuth": []}]


@extend_schema_view(list=extend_schema(auth=PUBLIC), retrieve=extend_schema(auth=PUBLIC))
class StructureViewSet(
    ServiceWriteMixin,
    ScopedQuerysetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Rows of a hospital's structure (floors, wards, beds): public reads of active hospitals' rows; the
    administrator and the hospital's managers write. No DELETE (405).

    Create and update go through services: an input serializer validates, the subclass's `create_row`
    or `update_row` calls the service, `output()` answers with the output serializer (the schema says so).
    """

    permission_classes = [PublicReadManagersWrite]
    public_read, active_lookups = True, ("hospital__is_active",)
    input_serializer_class = None
    update_serializer_class = None
    output_serializer_class = None

    def get_serializer_class(self):
        if self.action == "create":
            return self.input_serializer_class
        if self.action in ("update", "partial_update"):
            return self.update_serializer_class or self.input_serializer_class
        return self.output_serializer_class
