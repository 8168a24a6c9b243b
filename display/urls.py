"""Routes of the display app: HTML pages for screens, not API (not in the OpenAPI schema)."""

from django.urls import re_path

from display import views

urlpatterns = [
    re_path(r"^hospitals/(?P<id>[0-9]{1,18})/?$", views.lobby, name="display-lobby"),
]
