from django.urls import re_path

from dashboard import views
from hms.api.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("activity", views.ActivityViewSet, basename="activity")

urlpatterns = [
    re_path(r"^dashboard/?$", views.DashboardView.as_view(), name="dashboard"),
    re_path(r"^system/status/?$", views.SystemStatusView.as_view(), name="system-status"),
    *router.urls,
]
