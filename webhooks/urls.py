"""Routes of the webhooks app."""

from hms.api.routers import OptionalSlashRouter
from webhooks.views import WebhookViewSet

router = OptionalSlashRouter()
router.register("webhooks", WebhookViewSet, basename="webhook")

urlpatterns = router.urls
