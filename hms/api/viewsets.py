from rest_framework import mixins, viewsets


class CreateListRetrieveViewSet(
    mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Records created and read through the API, changed afterwards only by their actions (services) and
    never deleted: PUT, PATCH and DELETE are 405."""
