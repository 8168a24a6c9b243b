"""Seed-compatible aliases of the canonical views (API.md section 11): the same views, bodies, rules
and responses under the seed project's paths; the trailing slash is optional. Booking shares its
Idempotency-Key scope with POST /api/v1/appointments. Wired by hms/urls.py, like the root router."""

from django.urls import re_path

from appointments.views import AppointmentViewSet, AvailableSlotViewSet, MyAppointmentViewSet
from bloodbank.views import BloodBankViewSet, BloodRequestViewSet
from hms.api.routers import ID_PATTERN
from hospitals.views import HospitalViewSet

_pk = r"(?P<pk>[0-9]+)"
_bank = rf"(?P<pk>{ID_PATTERN})"
_floors = {**HospitalViewSet.floors.kwargs, "detail": True}


def _alias(route, viewset, actions, name, /, **initkwargs):
    return re_path(rf"^{route}/?$", viewset.as_view(actions, **initkwargs), name=f"seed-{name}")


urlpatterns = [
    _alias(r"hospital/register", HospitalViewSet, {"post": "create"}, "hospital-register"),
    _alias(r"hospital/all", HospitalViewSet, {"get": "list"}, "hospital-all"),
    # Same body and rules as the canonical PUT: a full update.
    _alias(rf"hospital/update/{_pk}", HospitalViewSet, {"put": "update"}, "hospital-update"),
    _alias(rf"hospital/delete/{_pk}", HospitalViewSet, {"delete": "destroy"}, "hospital-delete"),
    _alias(rf"hospital/{_pk}/floors/create", HospitalViewSet, {"post": "floors"}, "hospital-floors-create", **_floors),
    _alias(rf"hospital/{_pk}/floors", HospitalViewSet, {"get": "floors"}, "hospital-floors", **_floors),
    _alias(rf"hospital/{_pk}", HospitalViewSet, {"get": "retrieve"}, "hospital-detail", detail=True),
    _alias(r"appointment/opd/book", AppointmentViewSet, {"post": "create"}, "appointment-book"),
    _alias(rf"appointment/opd/update/{_pk}", AppointmentViewSet, {"put": "partial_update"}, "appointment-update"),
    _alias(rf"appointment/opd/cancel/{_pk}", AppointmentViewSet, {"delete": "cancel"}, "appointment-cancel"),
    _alias(rf"appointment/opd/{_pk}", AppointmentViewSet, {"get": "retrieve"}, "appointment-detail"),
    _alias(r"appointment/my-appointments", MyAppointmentViewSet, {"get": "list"}, "my-appointments"),
    _alias(r"appointment/available-slots", AvailableSlotViewSet, {"get": "list"}, "available-slots"),
    _alias(r"bloodbank/register", BloodBankViewSet, {"post": "create"}, "bloodbank-register"),
    _alias(r"bloodbank/all", BloodBankViewSet, {"get": "list"}, "bloodbank-all"),
    _alias(rf"bloodbank/{_bank}/addstock", BloodBankViewSet, {"post": "stock"}, "bloodbank-addstock"),
    _alias(rf"bloodbank/{_bank}/stock", BloodBankViewSet, {"get": "stock"}, "bloodbank-stock"),
    _alias(r"bloodbank/request", BloodRequestViewSet, {"post": "create"}, "blood-request"),
    _alias(r"bloodbank/requests", BloodRequestViewSet, {"get": "list"}, "blood-requests"),
]
