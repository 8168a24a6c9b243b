"""Routes of the notifications app: the caller's inbox and preferences (API.md section 16)."""

from django.urls import re_path

from hms.api.routers import OptionalSlashRouter
from notifications import views

router = OptionalSlashRouter()
router.register("notifications", views.NotificationViewSet, basename="notification")

urlpatterns = [
    re_path(r"^notifications/preferences/?$", views.PreferencesView.as_view(), name="notification-preferences"),
    *router.urls,
]
