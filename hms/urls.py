"""Root URLs: the canonical API under /api/v1/, the auth routes twice, seed aliases, health, docs."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from accounts.urls import auth_urlpatterns
from hms.api import views as api_views

# Staff see the admin every day: it carries the product's name, not Django's.
admin.site.site_header = "HMS administration"
admin.site.site_title = "HMS administration"
admin.site.index_title = "Hospital management"

handler400 = "hms.api.views.bad_request"
handler403 = "hms.api.views.permission_denied"
handler404 = "hms.api.views.not_found"
handler500 = "hms.api.views.server_error"

api_v1 = [
    path("", include("accounts.urls")),
    path("", include("hospitals.urls")),
    path("", include("appointments.urls")),
    path("", include("bloodbank.urls")),
    path("", include("emergency.urls")),
    path("", include("transfers.urls")),
    path("", include("notifications.urls")),
    path("", include("webhooks.urls")),
    path("", include("dashboard.urls")),
    path("", include("feed.urls")),
    re_path(r"^auth/", include((auth_urlpatterns, "accounts"), namespace="api-auth")),
]

urlpatterns = [
    re_path(r"^health/?$", api_views.health, name="health"),
    re_path(r"^health/ready/?$", api_views.ready, name="health-ready"),
    re_path(r"^api/schema/?$", SpectacularAPIView.as_view(), name="schema"),
    re_path(r"^api/docs/?$", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    re_path(
        r"^api/redoc/?$", SpectacularRedocView.as_view(url_name="schema", template_name="hms/redoc.html"), name="redoc"
    ),
    path("api/v1/", include(api_v1)),
    path("fhir/R4/", include("fhir.urls")),
    path("display/", include("display.urls")),
    re_path(r"^auth/", include((auth_urlpatterns, "accounts"), namespace="auth")),
    path("", include("hms.seed_urls")),
    path("admin/", admin.site.urls),
]

if settings.METRICS_ENABLED:
    from dashboard.views import metrics

    urlpatterns.append(re_path(r"^metrics/?$", metrics, name="prometheus-metrics"))
