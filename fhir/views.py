"""The /fhir/R4 endpoints: metadata, search and create per type, read per instance, 404 elsewhere."""

from rest_framework import status
from rest_framework.exceptions import MethodNotAllowed, NotAuthenticated, NotFound
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from appointments.views import AppointmentViewSet
from hms.api.idempotency import idempotent
from hms.api.throttling import ScopedRateThrottle

from . import booking, mapping
from .cache import kept_search
from .capability import capability_statement
from .http import FhirView
from .search import base_url, prefers_strict, read, search
from .types import TYPES, appointment_row

# The Idempotency-Key scope of FHIR bookings (a FHIR body is not a REST body: keys are not shared).
BOOKING_ROUTE = "fhir-appointment-book"


def _type(name: str):
    rtype = TYPES.get(name)
    if rtype is None:
        raise NotFound(f"This server has no resource type '{name[:64]}' (see /fhir/R4/metadata).")
    return rtype


class MetadataView(FhirView):
    permission_classes = [AllowAny]

    def get(self, request):
        return Response(capability_statement(base_url(request)))


class TypeView(FhirView):
    """`GET /fhir/R4/{type}?...` searches; `POST /fhir/R4/Appointment` books."""

    permission_classes = [AllowAny]
    throttle_scope = "booking"

    def get_throttles(self):
        return [ScopedRateThrottle()] if self.request.method == "POST" else []

    def get(self, request, resource_type):
        rtype = _type(resource_type)
        bundle = kept_search(
            rtype, request, lambda: search(rtype, request), strict=prefers_strict(request), base=base_url(request)
        )
        return Response(bundle)

    def post(self, request, resource_type):
        rtype = _type(resource_type)
        if not rtype.create:
            raise MethodNotAllowed("POST", detail=f"{rtype.name} cannot be created through this server.")
        response = self.create_appointment(request, resource_type=resource_type)
        if response.status_code == status.HTTP_201_CREATED and isinstance(response.data, dict):
            # Set here, not in the handler, so an Idempotency-Key replay carries it too.
            response["Location"] = f"{base_url(request)}/Appointment/{response.data.get('id')}"
        return response

    @idempotent(BOOKING_ROUTE)
    def create_appointment(self, request, resource_type):
        if not (request.user and request.user.is_authenticated):
            raise NotAuthenticated()
        permission = AppointmentViewSet.permission_classes[0]()
        view = AppointmentViewSet(request=request, action="create", format_kwarg=None, kwargs={})
        if not permission.has_permission(request, view):
            self.permission_denied(request, message=permission.message)
        appointment = booking.book(by=request.user, body=request.data)
        return Response(mapping.appointment(appointment_row(appointment.pk)), status=status.HTTP_201_CREATED)


class InstanceView(FhirView):
    """`GET /fhir/R4/{type}/{id}`."""

    permission_classes = [AllowAny]

    def get(self, request, resource_type, resource_id):
        return Response(read(_type(resource_type), resource_id, request))


class UnknownView(FhirView):
    """Anything else under /fhir/R4: a 404 OperationOutcome."""

    permission_classes = [AllowAny]

    def _not_found(self, request, *args, **kwargs):
        raise NotFound("No such FHIR endpoint (see /fhir/R4/metadata).")

    get = post = put = patch = delete = head = options = _not_found
