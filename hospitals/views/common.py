"""What the viewsets of the hospitals app share: the 404 answer and create/update through services."""

from drf_spectacular.utils import OpenApiResponse
from rest_framework import mixins, status, viewsets
from rest_framework.response import Response

NOT_FOUND = OpenApiResponse(description="No such row, or not visible to the caller.")


class WriteViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.GenericViewSet):
    """Create and update go through services: an input serializer validates, `output()` answers."""

    input_serializer_class = None
    update_serializer_class = None
    output_serializer_class = None

    def get_serializer_class(self):
        if self.action == "create":
            return self.input_serializer_class
        if self.action in ("update", "partial_update"):
            return self.update_serializer_class or self.input_serializer_class
        return self.output_serializer_class

    def output(self, instance, status_code=status.HTTP_200_OK):
        return Response(self.output_serializer_class(instance, context=self.get_serializer_context()).data, status_code)
