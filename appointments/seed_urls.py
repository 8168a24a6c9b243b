"""Seed-compatible aliases of this app's canonical views (API.md section 11): same bodies, rules and
responses. Booking shares its Idempotency-Key scope with POST /api/v1/appointments."""

from django.urls import re_path

from appointments import views

urlpatterns = [
    re_path(
        r"^appointment/opd/book/?$",
        views.AppointmentViewSet.as_view({"post": "create"}),
        name="seed-appointment-book",
    ),
    re_path(
        r"^appointment/opd/update/(?P<pk>[0-9]+)/?$",
        views.AppointmentViewSet.as_view({"put": "partial_update"}),
        name="seed-appointment-update",
    ),
    re_path(
        r"^appointment/opd/cancel/(?P<pk>[0-9]+)/?$",
        views.AppointmentViewSet.as_view({"delete": "cancel"}),
        name="seed-appointment-cancel",
    ),
    re_path(
        r"^appointment/opd/(?P<pk>[0-9]+)/?$",
        views.AppointmentViewSet.as_view({"get": "retrieve"}),
        name="seed-appointment-detail",
    ),
    re_path(
        r"^appointment/my-appointments/?$",
        views.MyAppointmentViewSet.as_view({"get": "list"}),
        name="seed-my-appointments",
    ),
    re_path(
        r"^appointment/available-slots/?$",
        views.AvailableSlotViewSet.as_view({"get": "list"}),
        name="seed-available-slots",
    ),
]
