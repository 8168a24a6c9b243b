from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from hms.api.filters import FilterBackend
from notifications import serializers, services
from notifications.filters import NotificationFilter
from notifications.models import Delivery, Notification


@extend_schema(tags=["notifications"])
class NotificationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The caller's own notifications, newest first (every role; another user's notification is 404)."""

    serializer_class = serializers.NotificationOut
    permission_classes = [IsAuthenticated]
    filter_backends = [FilterBackend]
    filterset_class = NotificationFilter
    lookup_value_regex = "[0-9]+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Notification.objects.none()
        deliveries = Prefetch("deliveries", queryset=Delivery.objects.order_by("id"))
        return Notification.objects.filter(user=self.request.user).prefetch_related(deliveries).order_by("-id")

    @extend_schema(request=None, responses={200: serializers.NotificationOut}, summary="Mark one notification read")
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        notification = services.notification_read(by=request.user, notification=self.get_object())
        return Response(serializers.NotificationOut(self.get_queryset().get(pk=notification.pk)).data)

    @extend_schema(request=None, responses={200: serializers.ReadAllOut}, summary="Mark all notifications read")
    @action(detail=False, methods=["post"], url_path="read-all", filter_backends=[])
    def read_all(self, request):
        return Response({"marked": services.notifications_read_all(by=request.user)})


class PreferencesView(APIView):
    """Which categories the caller receives by e-mail and by SMS (in-app: always). Defaults: all on
    where the caller has an e-mail address / a phone number."""

    permission_classes = [IsAuthenticated]

    @extend_schema(tags=["notifications"], responses={200: serializers.PreferencesOut})
    def get(self, request):
        return Response(services.preferences_get(user=request.user))

    @extend_schema(
        tags=["notifications"], request=serializers.PreferencesIn, responses={200: serializers.PreferencesOut}
    )
    def put(self, request):
        data = serializers.PreferencesIn(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(services.preferences_set(by=request.user, choices=dict(data.validated_data)))
