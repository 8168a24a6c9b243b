"""The FHIR resource types served, each as one or more HMS tables ("parts") with their search parameters.

Visibility is the REST API's own: every part's rows come from the REST viewset's scoping declarations
(`ScopedQuerysetMixin.scope_queryset` run with the REST viewset's `owner_lookups`, `hospital_lookups`,
`user_lookups`, `public_read` and `active_lookups`), so a row the REST API hides is absent here too.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import User
from appointments.models import Appointment, Doctor, OpdSchedule, Prescription, Slot, Visit
from appointments.views import AppointmentViewSet, DoctorViewSet, OpdScheduleViewSet, SlotViewSet, VisitViewSet
from bloodbank.models import BloodBank
from bloodbank.views import BloodBankViewSet
from hms.api.permissions import role_of
from hms.api.roles import Role
from hms.api.scoping import ScopedQuerysetMixin
from hospitals.geo import DEFAULT_RADIUS_KM, nearest
from hospitals.models import Admission, Bed, Hospital, Ward
from hospitals.views import AdmissionViewSet, BedViewSet, HospitalViewSet, WardViewSet

from . import mapping
from .params import integer_ids, invalid, prefixed_ids, reference_ids, tokens


def scoped(viewset_class, request, queryset):
    """`queryset` narrowed exactly as the REST viewset narrows its own for this caller."""
    view = viewset_class(request=request, format_kwarg=None, kwargs={})
    return ScopedQuerysetMixin.scope_queryset(view, queryset)


@dataclass
class Context:
    """What one request's renderers and filters share: the caller, the time, the time zones in use."""

    request: object
    now: object = field(default_factory=timezone.now)
    _zones: list | None = None

    @property
    def zones(self) -> list[str]:
        """The hospitals' time zones (one query per request), for dates given without an offset."""
        if self._zones is None:
            from django.conf import settings

            found = sorted(set(Hospital.objects.values_list("timezone", flat=True).distinct()))
            self._zones = found or [settings.TIME_ZONE]
        return self._zones

    def sees_contact(self, user) -> bool:
        """A patient's e-mail: the patient itself and admins only."""
        return role_of(self.request.user) == Role.ADMIN or self.request.user.pk == user.pk


Filter = Callable  # (queryset, values: list[str], ctx: Context) -> queryset


@dataclass
class Part:
    """One HMS table behind a FHIR type. `prefix`: the id's table name (`hospital` in `hospital-5`),
    None when the type's ids are the table's ids."""

    prefix: str | None
    queryset: Callable  # (ctx) -> the scoped queryset, with what `render` reads selected
    render: Callable  # (row, ctx) -> dict
    updated_field: str
    zone_field: str | None = "hospital__timezone"
    filters: dict[str, Filter] = field(default_factory=dict)
    # Audit of clinical reads (API.md section 9): the activity log's object type and the patient's field.
    audit_type: str | None = None
    audit_patient: str = "patient_id"  # a lookup from the row to the patient's id
    # What only the rows shown need (annotations the count must not compute).
    page: Callable = lambda queryset, ctx: queryset  # noqa: E731

    def patient_of(self, row) -> int | None:
        for name in self.audit_patient.split("__"):
            row = getattr(row, name, None)
        return row

    def resource_id(self, pk) -> str:
        return f"{self.prefix}-{pk}" if self.prefix else str(pk)

    def pk_from(self, resource_id: str) -> int | None:
        ids = prefixed_ids([resource_id], self.prefix) if self.prefix else integer_ids([resource_id])
        return ids[0] if ids else None


@dataclass
class SearchParam:
    name: str
    type: str  # the FHIR search parameter type, for the CapabilityStatement
    documentation: str


@dataclass
class ResourceType:
    name: str
    parts: list[Part]
    params: list[SearchParam] = field(default_factory=list)
    includes: dict[str, Callable] = field(default_factory=dict)  # "Slot:schedule" -> (rows, ctx) -> resources
    clinical: bool = False  # a patient's record: sign-in required (401 otherwise), as in the REST API
    create: bool = False
    profile_note: str = ""

    def part_for(self, resource_id: str) -> tuple[Part, int] | None:
        for part in self.parts:
            pk = part.pk_from(resource_id)
            if pk is not None:
                return part, pk
        return None


def _match_none(queryset):
    return queryset.none()


def _references(queryset, values, resource_type, lookup, prefix=None, parameter=""):
    ids = reference_ids(parameter, values, resource_type)
    numbers = prefixed_ids(ids, prefix) if prefix else integer_ids(ids)
    return queryset.filter(**{f"{lookup}__in": numbers})


def _reference_filter(resource_type: str, lookup: str, prefix: str | None = None, parameter: str = ""):
    def apply(queryset, values, ctx):
        for value in values:  # occurrences are ANDed, comma-separated values ORed
            queryset = _references(queryset, [value], resource_type, lookup, prefix, parameter)
        return queryset

    return apply


def _date_filter(parameter: str, date_field: str):
    from .params import date_condition

    def apply(queryset, values, ctx):
        return queryset.filter(date_condition(parameter, values, date_field, "hospital__timezone", ctx.zones))

    return apply


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


PATIENT = ResourceType(
    "Patient",
    [
        Part(
            None,
            _patients,
            lambda row, ctx: mapping.patient(row, contact=ctx.sees_contact(row)),
            "date_joined",
            zone_field=None,
        )
    ],
    clinical=True,
)


# --- Practitioner, PractitionerRole ----------------------------------------------------------------------


def _doctors(ctx):
    return scoped(DoctorViewSet, ctx.request, Doctor.objects.select_related("user").order_by("id"))


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


PRACTITIONER = ResourceType(
    "Practitioner",
    [
        Part(
            None,
            _doctors,
            lambda row, ctx: mapping.practitioner(row),
            "updated_at",
            filters={"name": _name_filter, "name:contains": _name_contains, "name:exact": _name_exact},
        )
    ],
    params=[
        SearchParam("name", "string", "The doctor's full name: a word starting with the value (:contains, :exact).")
    ],
)
PRACTITIONER_ROLE = ResourceType(
    "PractitionerRole",
    [Part(None, _doctors, lambda row, ctx: mapping.practitioner_role(row), "updated_at")],
)


# --- Organization ------------------------------------------------------------------------------------------


def _hospitals(ctx):
    return scoped(HospitalViewSet, ctx.request, Hospital.objects.order_by("id"))


ORGANIZATION = ResourceType(
    "Organization",
    [
        Part(
            "hospital",
            _hospitals,
            lambda row, ctx: mapping.organization_hospital(row),
            "updated_at",
            zone_field="timezone",
        ),
        Part(
            "bloodbank",
            lambda ctx: scoped(
                BloodBankViewSet, ctx.request, BloodBank.objects.select_related("hospital").order_by("id")
            ),
            lambda row, ctx: mapping.organization_bloodbank(row),
            "updated_at",
            zone_field=None,  # a bank may belong to no hospital: server time
        ),
    ],
)


# --- Location ----------------------------------------------------------------------------------------------


def _near(values: list[str]) -> tuple[float, float, float]:
    text = values[-1]
    parts = text.split("|")
    message = "near is latitude|longitude|distance|km (distance and unit optional; default 50 km)."
    if len(parts) < 2 or len(parts) > 4:
        raise invalid("near", message)
    try:
        lat, lng = float(parts[0]), float(parts[1])
        distance = float(parts[2]) if len(parts) > 2 and parts[2] else DEFAULT_RADIUS_KM
    except ValueError as exc:
        raise invalid("near", message) from exc
    unit = parts[3] if len(parts) > 3 and parts[3] else "km"
    if unit not in ("km", "[km]"):
        raise invalid("near", "near distances are in km.")
    if not (-90 <= lat <= 90 and -180 <= lng <= 180) or not (0 < distance <= 20_000):
        raise invalid("near", "Latitude -90..90, longitude -180..180, distance above 0 and at most 20000 km.")
    return lat, lng, distance


def _hospital_near(queryset, values, ctx):
    lat, lng, distance = _near(values)
    return nearest(queryset, lat, lng, distance).order_by("id")


def _not_positioned(queryset, values, ctx):
    _near(values)  # validated all the same
    return queryset.none()


LOCATION = ResourceType(
    "Location",
    [
        Part(
            "hospital",
            _hospitals,
            lambda row, ctx: mapping.location_hospital(row),
            "updated_at",
            zone_field="timezone",
            filters={
                "organization": _reference_filter("Organization", "pk", "hospital", "organization"),
                "near": _hospital_near,
            },
        ),
        Part(
            "ward",
            lambda ctx: scoped(WardViewSet, ctx.request, Ward.objects.select_related("hospital").order_by("id")),
            lambda row, ctx: mapping.location_ward(row),
            "updated_at",
            filters={
                "organization": _reference_filter("Organization", "hospital_id", "hospital", "organization"),
                "near": _not_positioned,
            },
        ),
        Part(
            "bed",
            lambda ctx: scoped(BedViewSet, ctx.request, Bed.objects.select_related("ward", "hospital").order_by("id")),
            lambda row, ctx: mapping.location_bed(row, ctx.now),
            "updated_at",
            filters={
                "organization": _reference_filter("Organization", "hospital_id", "hospital", "organization"),
                "near": _not_positioned,
            },
        ),
    ],
    params=[
        SearchParam("organization", "reference", "The managing Organization (hospital-{id})."),
        SearchParam(
            "near",
            "special",
            "latitude|longitude|distance|km (default 50 km): hospitals within the distance (wards and beds "
            "carry no position).",
        ),
    ],
)


# --- Schedule, Slot ----------------------------------------------------------------------------------------


def _schedules(ctx):
    return scoped(OpdScheduleViewSet, ctx.request, OpdSchedule.objects.select_related("hospital").order_by("id"))


def _actor_filter(queryset, values, ctx):
    for value in values:
        ids = reference_ids("actor", [value], "Practitioner") + reference_ids("actor", [value], "PractitionerRole")
        hospitals = prefixed_ids(reference_ids("actor", [value], "Location"), "hospital")
        # A bare id names a practitioner; a Location reference names the hospital.
        queryset = queryset.filter(Q(doctor_id__in=integer_ids(ids)) | Q(hospital_id__in=hospitals))
    return queryset


SCHEDULE = ResourceType(
    "Schedule",
    [Part(None, _schedules, lambda row, ctx: mapping.schedule(row), "updated_at", filters={"actor": _actor_filter})],
    params=[
        SearchParam("actor", "reference", "Practitioner/{id} (or PractitionerRole/{id}) or Location/hospital-{id}.")
    ],
)


def _slots(ctx):
    queryset = Slot.objects.select_related("hospital", "doctor").filter(opd_schedule__isnull=False)
    return scoped(SlotViewSet, ctx.request, queryset).order_by("start", "id")


def slot_status_queries(now) -> dict[str, Q]:
    """`mapping.slot_status` as conditions."""
    free = Slot.objects.bookable_q(now)
    unavailable = (
        ~Q(status=Slot.Status.OPEN)
        | Q(hospital__opd_status=Hospital.OpdStatus.CLOSED)
        | Q(doctor__is_available=False)
        | Q(hospital__is_active=False)
    )
    return {mapping.SLOT_FREE: free, mapping.SLOT_UNAVAILABLE: unavailable, mapping.SLOT_BUSY: ~free & ~unavailable}


def _slot_status_filter(queryset, values, ctx):
    queries = slot_status_queries(ctx.now)
    for codes in tokens(values):
        condition = Q(pk__in=[])
        for code in codes:
            if code in queries:
                condition |= queries[code]
        queryset = queryset.filter(condition)
    return queryset


def _include_schedules(rows, ctx):
    ids = {row.opd_schedule_id for row in rows if row.opd_schedule_id}
    if not ids:
        return []
    return [mapping.schedule(opd) for opd in _schedules(ctx).filter(pk__in=ids)]


SLOT = ResourceType(
    "Slot",
    [
        Part(
            None,
            _slots,
            lambda row, ctx: mapping.slot(row, ctx.now),
            "updated_at",
            page=lambda queryset, ctx: queryset.with_held(ctx.now),
            filters={
                "schedule": _reference_filter("Schedule", "opd_schedule_id", parameter="schedule"),
                "start": _date_filter("start", "start"),
                "status": _slot_status_filter,
            },
        )
    ],
    params=[
        SearchParam("schedule", "reference", "Schedule/{id} (an OPD schedule)."),
        SearchParam("start", "date", "Slot start; eq, ne, gt, lt, ge, le; a value without offset is hospital-local."),
        SearchParam("status", "token", "free | busy | busy-unavailable (http://hl7.org/fhir/slotstatus)."),
    ],
    includes={"Slot:schedule": _include_schedules},
)


# --- Appointment -------------------------------------------------------------------------------------------

HMS_APPOINTMENT_STATUS = {code: status for status, code in mapping.APPOINTMENT_STATUS_CODES.items()}


def _appointments(ctx):
    return scoped(AppointmentViewSet, ctx.request, AppointmentViewSet.queryset.all()).order_by("id")


def _appointment_status_filter(queryset, values, ctx):
    for codes in tokens(values):
        queryset = queryset.filter(
            status__in=[HMS_APPOINTMENT_STATUS[code] for code in codes if code in HMS_APPOINTMENT_STATUS]
        )
    return queryset


def _include_patients(rows, ctx):
    seen, out = set(), []
    for row in rows:
        if row.patient_id not in seen:
            seen.add(row.patient_id)
            out.append(mapping.patient(row.patient, contact=ctx.sees_contact(row.patient)))
    return out


def _include_practitioners(rows, ctx):
    admin = role_of(ctx.request.user) == Role.ADMIN
    seen, out = set(), []
    for row in rows:
        doctor = row.doctor
        if doctor.pk in seen or not (admin or (doctor.user.is_active and row.hospital.is_active)):
            continue
        seen.add(doctor.pk)
        out.append(mapping.practitioner(doctor))
    return out


APPOINTMENT = ResourceType(
    "Appointment",
    [
        Part(
            None,
            _appointments,
            lambda row, ctx: mapping.appointment(row),
            "updated_at",
            filters={
                "patient": _reference_filter("Patient", "patient_id", parameter="patient"),
                "practitioner": _reference_filter("Practitioner", "doctor_id", parameter="practitioner"),
                "date": _date_filter("date", "slot__start"),
                "status": _appointment_status_filter,
            },
            audit_type="appointment",
        )
    ],
    params=[
        SearchParam("patient", "reference", "Patient/{id}."),
        SearchParam("practitioner", "reference", "Practitioner/{id} (the doctor)."),
        SearchParam("date", "date", "Appointment start; eq, ne, gt, lt, ge, le; without offset: hospital-local."),
        SearchParam("status", "token", "booked | checked-in | fulfilled | cancelled | noshow."),
    ],
    includes={"Appointment:patient": _include_patients, "Appointment:practitioner": _include_practitioners},
    clinical=True,
    create=True,
)


# --- Encounter, MedicationRequest ------------------------------------------------------------------------


def _visits(ctx):
    return scoped(VisitViewSet, ctx.request, Visit.objects.select_related("hospital").order_by("id"))


def _admissions(ctx):
    queryset = Admission.objects.select_related("hospital").alias(last_updated=Coalesce("discharged_at", "admitted_at"))
    return scoped(AdmissionViewSet, ctx.request, queryset.order_by("id"))


ENCOUNTER = ResourceType(
    "Encounter",
    [
        Part(
            "visit",
            _visits,
            lambda row, ctx: mapping.encounter_visit(row),
            "created_at",
            filters={
                "patient": _reference_filter("Patient", "patient_id", parameter="patient"),
                "date": _date_filter("date", "visited_at"),
            },
            audit_type="visit",
        ),
        Part(
            "admission",
            _admissions,
            lambda row, ctx: mapping.encounter_admission(row),
            "last_updated",  # as meta.lastUpdated: the discharge, else the admission
            filters={
                "patient": _reference_filter("Patient", "patient_id", parameter="patient"),
                "date": _date_filter("date", "admitted_at"),
            },
            audit_type="admission",
        ),
    ],
    params=[
        SearchParam("patient", "reference", "Patient/{id}."),
        SearchParam(
            "date", "date", "Start of the encounter (visit time, admission time); hospital-local without offset."
        ),
    ],
    clinical=True,
)


def _prescriptions(ctx):
    visits = _visits(ctx).values("pk")
    return Prescription.objects.select_related("visit__hospital").filter(visit__in=visits).order_by("id")


MEDICATION_REQUEST = ResourceType(
    "MedicationRequest",
    [
        Part(
            None,
            _prescriptions,
            lambda row, ctx: mapping.medication_request(row, ctx.now),
            "visit__created_at",
            zone_field="visit__hospital__timezone",
            filters={
                "patient": _reference_filter("Patient", "visit__patient_id", parameter="patient"),
                "encounter": _reference_filter("Encounter", "visit_id", "visit", "encounter"),
            },
            audit_type="prescription",
            audit_patient="visit__patient_id",
        )
    ],
    params=[
        SearchParam("patient", "reference", "Patient/{id}."),
        SearchParam("encounter", "reference", "Encounter/visit-{id}."),
    ],
    clinical=True,
)


TYPES = {
    rtype.name: rtype
    for rtype in (
        PATIENT,
        PRACTITIONER,
        PRACTITIONER_ROLE,
        ORGANIZATION,
        LOCATION,
        SCHEDULE,
        SLOT,
        APPOINTMENT,
        ENCOUNTER,
        MEDICATION_REQUEST,
    )
}
