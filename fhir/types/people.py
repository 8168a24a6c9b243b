"""Patient (users of the patient roles), Practitioner and PractitionerRole (doctors)."""

from django.db.models import Q

from accounts.models import User
from appointments.models import Appointment, Doctor, Visit
from appointments.views import AppointmentViewSet, DoctorViewSet, VisitViewSet
from hms.api.permissions import role_of
from hms.api.roles import Role
from hospitals.models import Admission
from hospitals.views import AdmissionViewSet

from .. import mapping
from .base import Part, ResourceType, SearchParam, scoped

# --- Patient ----------------------------------------------------------------------------------------------


def _patients(ctx):
    request = ctx.request
    queryset = User.objects.filter(role__in=mapping.PATIENT_ROLES).order_by("id")
    role = role_of(request.user)
    if role == Role.ADMIN:
        return queryset
    if role is None:
        return queryset.none()
    condition = Q(pk=request.user.pk)
    if role in (Role.HOSPITAL_ADMIN, Role.DOCTOR):
        # Staff see the patients of the records they see: appointments, visits, admissions.
        condition |= Q(pk__in=scoped(AppointmentViewSet, request, Appointment.objects.values("patient_id")))
        condition |= Q(pk__in=scoped(VisitViewSet, request, Visit.objects.values("patient_id")))
        condition |= Q(
            pk__in=scoped(
                AdmissionViewSet, request, Admission.objects.filter(patient__isnull=False).values("patient_id")
            )
        )
    return queryset.filter(condition & (Q(is_active=True) | Q(pk=request.user.pk)))


# The columns `mapping.patient` reads of a user (its `prefix`ed names in another table's row).
PATIENT_COLUMNS = ("id", "username", "fullname", "phone_num", "email", "is_active", "date_joined")

PATIENT = ResourceType(
    "Patient",
    [
        Part(
            None,
            _patients,
            lambda row, ctx: mapping.patient(row, contact=ctx.sees_contact(row["id"])),
            "date_joined",
            zone_field=None,
            columns=PATIENT_COLUMNS,
        )
    ],
    clinical=True,
)


# --- Practitioner, PractitionerRole ----------------------------------------------------------------------


def _doctors(ctx):
    return scoped(DoctorViewSet, ctx.request, Doctor.objects.select_related("user").order_by("id"))


# The columns `mapping.practitioner` and `mapping.practitioner_role` read of a doctor.
DOCTOR_COLUMNS = (
    *("id", "hospital_id", "updated_at", "license_number", "qualification", "specialization", "department"),
    *("is_available", "user__is_active", "user__fullname", "user__username", "user__phone_num", "user__email"),
)


def _name_filter(queryset, values, ctx):
    for value in values:
        condition = Q(pk__in=[])
        for item in value.split(","):
            item = item.strip()
            condition |= Q(user__fullname__istartswith=item) | Q(user__fullname__icontains=f" {item}")
        queryset = queryset.filter(condition)
    return queryset


def _name_contains(queryset, values, ctx):
    for value in values:
        condition = Q(pk__in=[])
        for item in value.split(","):
            condition |= Q(user__fullname__icontains=item.strip())
        queryset = queryset.filter(condition)
    return queryset


def _name_exact(queryset, values, ctx):
    for value in values:
        queryset = queryset.filter(user__fullname__in=value.split(","))
    return queryset


def _doctor_part(render, filters=None) -> Part:
    """The doctors as rows of a type: Practitioner and PractitionerRole differ in rendering (and search) only."""
    return Part(
        None,
        _doctors,
        lambda row, ctx: render(row),
        "updated_at",
        filters=filters or {},
        columns=DOCTOR_COLUMNS,
        public=True,
    )


PRACTITIONER = ResourceType(
    "Practitioner",
    [
        _doctor_part(
            mapping.practitioner,
            filters={"name": _name_filter, "name:contains": _name_contains, "name:exact": _name_exact},
        )
    ],
    params=[
        SearchParam("name", "string", "The doctor's full name: a word starting with the value (:contains, :exact).")
    ],
)
PRACTITIONER_ROLE = ResourceType("PractitionerRole", [_doctor_part(mapping.practitioner_role)])
