"""Seed-compatible aliases of this app's canonical views (API.md section 11): same views, same rules."""

from django.urls import re_path

from hospitals.views import HospitalViewSet

_floors = {**HospitalViewSet.floors.kwargs, "detail": True}

urlpatterns = [
    re_path(r"^hospital/register/?$", HospitalViewSet.as_view({"post": "create"}), name="seed-hospital-register"),
    re_path(r"^hospital/all/?$", HospitalViewSet.as_view({"get": "list"}), name="seed-hospital-all"),
    re_path(
        r"^hospital/update/(?P<pk>[0-9]+)/?$",
        # Same body and rules as the canonical PUT (API.md section 11): a full update.
        HospitalViewSet.as_view({"put": "update"}),
        name="seed-hospital-update",
    ),
    re_path(
        r"^hospital/delete/(?P<pk>[0-9]+)/?$",
        HospitalViewSet.as_view({"delete": "destroy"}),
        name="seed-hospital-delete",
    ),
    re_path(
        r"^hospital/(?P<pk>[0-9]+)/floors/create/?$",
        HospitalViewSet.as_view({"post": "floors"}, **_floors),
        name="seed-hospital-floors-create",
    ),
    re_path(
        r"^hospital/(?P<pk>[0-9]+)/floors/?$",
        HospitalViewSet.as_view({"get": "floors"}, **_floors),
        name="seed-hospital-floors",
    ),
    re_path(
        r"^hospital/(?P<pk>[0-9]+)/?$",
        HospitalViewSet.as_view({"get": "retrieve"}, detail=True),
        name="seed-hospital-detail",
    ),
]
