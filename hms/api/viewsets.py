from rest_framework import mixins, status, viewsets
from rest_framework.response import Response

from hms.api.schema import AutoSchema

# The actions whose body an input serializer validates (and whose answer is the output serializer's).
WRITE_ACTIONS = ("create", "update", "partial_update")


class CreateListRetrieveViewSet(
    mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Records created and read through the API, changed afterwards only by their actions (services) and
    never deleted: PUT, PATCH and DELETE are 405."""


class OutputSchema(AutoSchema):
    """A create or update answers with the viewset's `output_serializer_class`, not with the input
    serializer it validates with (an operation's own `extend_schema(responses=...)` still wins)."""

    def get_response_serializers(self):
        if self.view.action in WRITE_ACTIONS and self.view.output_serializer_class:
            return self.view.output_serializer_class
        return super().get_response_serializers()


class ServiceWriteMixin:
    """POST, PUT and PATCH written once. The input serializer of `get_serializer_class()` validates (for
    PUT and PATCH bound to the row, looked up first: 404 when the caller may not see it; PATCH partial),
    one service call in the viewset's `create_row(values)` or `update_row(row, values)`, the row out
    through `output()` (`output_serializer_class`; 201 for a create).

    The usual services are declared rather than written: `row_services = {"create": thing_create,
    "update": thing_update}` calls `thing_create(by=user, data=values)` and `thing_update(by=user,
    <row_object>=row, data=values)` (DeactivateMixin: `"deactivate": thing_deactivate(by=user,
    <row_object>=row)`); a viewset whose service takes other arguments writes its own `create_row` or
    `update_row`.

    `input_serializer_class`, when given, is the serializer of POST, PUT and PATCH and
    `output_serializer_class` that of every other action; without it the viewset chooses its own."""

    schema = OutputSchema()
    input_serializer_class = None
    output_serializer_class = None
    row_object = ""  # the services' keyword for the row, e.g. "bank" for blood_bank_update(bank=...)
    row_services: dict = {}

    def get_serializer_class(self):
        if self.input_serializer_class is None:
            return super().get_serializer_class()
        return self.input_serializer_class if self.action in WRITE_ACTIONS else self.output_serializer_class

    def output(self, instance, status_code=status.HTTP_200_OK):
        return Response(self.output_serializer_class(instance, context=self.get_serializer_context()).data, status_code)

    def create(self, request, *args, **kwargs):
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self.output(self.create_row(data.validated_data), status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        row = self.get_object()
        data = self.get_serializer(row, data=request.data, partial=kwargs.pop("partial", False))
        data.is_valid(raise_exception=True)
        return self.output(self.update_row(row, data.validated_data))

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    def create_row(self, values: dict):
        return self.row_services["create"](by=self.request.user, data=dict(values))

    def update_row(self, row, values: dict):
        return self.row_services["update"](by=self.request.user, **{self.row_object: row}, data=dict(values))


class DeactivateMixin:
    """DELETE keeps the row: `deactivate_row(row)` (the service: `row_services["deactivate"]`, see
    ServiceWriteMixin) marks it inactive; 204."""

    def destroy(self, request, *args, **kwargs):
        self.deactivate_row(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    def deactivate_row(self, row) -> None:
        self.row_services["deactivate"](by=self.request.user, **{self.row_object: row})
