"""Seed-compatible aliases of this app's canonical views (API.md section 11)."""

from django.urls import re_path

from bloodbank import views

urlpatterns = [
    re_path(
        r"^bloodbank/register/?$", views.BloodBankViewSet.as_view({"post": "create"}), name="seed-bloodbank-register"
    ),
    re_path(r"^bloodbank/all/?$", views.BloodBankViewSet.as_view({"get": "list"}), name="seed-bloodbank-all"),
    re_path(
        r"^bloodbank/(?P<pk>[^/.]+)/addstock/?$",
        views.BloodBankViewSet.as_view({"post": "stock"}),
        name="seed-bloodbank-addstock",
    ),
    re_path(
        r"^bloodbank/(?P<pk>[^/.]+)/stock/?$",
        views.BloodBankViewSet.as_view({"get": "stock"}),
        name="seed-bloodbank-stock",
    ),
    re_path(r"^bloodbank/request/?$", views.BloodRequestViewSet.as_view({"post": "create"}), name="seed-blood-request"),
    re_path(r"^bloodbank/requests/?$", views.BloodRequestViewSet.as_view({"get": "list"}), name="seed-blood-requests"),
]
