from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from hms.api.idempotency import idempotent
from hms.api.permissions import has_role
from hms.api.roles import Role
from hms.api.scoping import ScopedQuerysetMixin
from webhooks import services
from webhooks.models import Webhook, WebhookDelivery
from webhooks.serializers import WebhookCreatedOut, WebhookDeliveryOut, WebhookIn, WebhookOut

CREATE_ROUTE = "webhook-create"
DELIVERY_ID = OpenApiParameter("delivery_id", int, OpenApiParameter.PATH, description="A delivery of this webhook.")


@extend_schema(tags=["webhooks"])
class WebhookViewSet(ScopedQuerysetMixin, viewsets.ModelViewSet):
    """Webhooks: the change feed's events POSTed to an https endpoint, signed per Standard Webhooks.
    Admin: every webhook, any topic; hospital admin: its hospital's webhooks and topics; others 403.
    DELETE deactivates (204): the webhook and its deliveries are kept."""

    queryset = Webhook.objects.all()
    permission_classes = [has_role(Role.ADMIN, Role.HOSPITAL_ADMIN)]
    hospital_lookups = {Role.HOSPITAL_ADMIN: "hospital_id"}
    serializer_class = WebhookOut
    filterset_fields = ["is_active"]
    ordering_fields = ["id", "created_at"]

    def get_serializer_class(self):
        if self.action in ("create", "update", "partial_update"):
            return WebhookIn
        if self.action == "deliveries":
            return WebhookDeliveryOut
        return WebhookOut

    @idempotent(
        CREATE_ROUTE,
        request=WebhookIn,
        responses={201: WebhookCreatedOut},
    )
    def create(self, request, *args, **kwargs):
        """Register an endpoint for some feed topics. The answer carries `secret`, shown this once.
        Not https, a host resolving to a loopback, private, link-local or metadata address, or that
        does not resolve -> 400 on `url`; an unknown topic or one not of your hospital -> 400 on `topics`."""
        data = WebhookIn(data=request.data)
        data.is_valid(raise_exception=True)
        webhook = services.webhook_create(
            by=request.user, url=data.validated_data["url"], topics=data.validated_data["topics"]
        )
        return Response(WebhookCreatedOut(webhook).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=WebhookIn, responses={200: WebhookOut})
    def update(self, request, *args, **kwargs):
        """Change `url`, `topics` or `is_active` (the same checks as at registration)."""
        webhook = self.get_object()
        data = WebhookIn(data=request.data, partial=kwargs.pop("partial", False))
        data.is_valid(raise_exception=True)
        webhook = services.webhook_update(webhook=webhook, by=request.user, data=dict(data.validated_data))
        return Response(WebhookOut(webhook).data)

    @extend_schema(request=WebhookIn, responses={200: WebhookOut})
    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    @extend_schema(responses={204: None})
    def destroy(self, request, *args, **kwargs):
        """Deactivate: no more deliveries; the webhook and its delivery log are kept."""
        services.webhook_deactivate(webhook=self.get_object(), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses={200: WebhookDeliveryOut(many=True)}, filters=False)
    @action(detail=True, methods=["get"])
    def deliveries(self, request, pk=None):
        """The webhook's delivery log, newest first."""
        webhook = self.get_object()
        page = self.paginate_queryset(WebhookDelivery.objects.filter(webhook=webhook).order_by("-id"))
        return self.get_paginated_response(WebhookDeliveryOut(page, many=True).data)

    @extend_schema(request=None, parameters=[DELIVERY_ID], responses={202: WebhookDeliveryOut})
    @action(detail=True, methods=["post"], url_path=r"deliveries/(?P<delivery_id>[0-9]{1,18})/redeliver")
    def redeliver(self, request, pk=None, delivery_id=None):
        """Send a delivery again (same message id) with a fresh retry window; the `webhooks.deliver`
        job sends it (202). An inactive webhook -> 409 `webhook_inactive`."""
        webhook = self.get_object()
        delivery = get_object_or_404(WebhookDelivery.objects.select_related("webhook"), pk=delivery_id, webhook=webhook)
        delivery = services.delivery_redeliver(delivery=delivery, by=request.user)
        return Response(WebhookDeliveryOut(delivery).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={202: WebhookDeliveryOut})
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        """Queue a `webhook.ping` delivery to the endpoint (202); see it in the delivery log.
        An inactive webhook -> 409 `webhook_inactive`."""
        delivery = services.webhook_ping(webhook=self.get_object(), by=request.user)
        return Response(WebhookDeliveryOut(delivery).data, status=status.HTTP_202_ACCEPTED)
