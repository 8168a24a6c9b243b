"""Schedule (OPD schedules), Slot and Appointment."""

from django.db.models import Q

from appointments.models import OpdSchedule, Slot
from appointments.views import AppointmentViewSet, OpdScheduleViewSet, SlotViewSet
from hms.api.permissions import role_of
from hms.api.roles import Role
from hospitals.models import Hospital

from .. import mapping
from ..params import integer_ids, prefixed_ids, reference_ids, tokens
from .base import Part, ResourceType, SearchParam, date_filter, reference_filter, scoped

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
                "schedule": reference_filter("Schedule", "opd_schedule_id", parameter="schedule"),
                "start": date_filter("start", "start"),
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


# The columns `mapping.appointment` and the two _includes read (of ~90 the REST queryset selects).
_USER_COLUMNS = ("username", "fullname", "phone_num", "email", "is_active", "date_joined")
APPOINTMENT_COLUMNS = (
    *("patient", "slot", "doctor", "hospital", "token_number", "status", "reason", "cancel_reason"),
    *("created_at", "updated_at", "slot__start", "slot__end", "slot__opd_schedule", "hospital__timezone"),
    *("hospital__is_active", "doctor__user", "doctor__updated_at", "doctor__license_number"),
    "doctor__qualification",
    *(f"{user}__{column}" for user in ("patient", "doctor__user") for column in _USER_COLUMNS),
)


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
            page=lambda queryset, ctx: queryset.only(*APPOINTMENT_COLUMNS),
            filters={
                "patient": reference_filter("Patient", "patient_id", parameter="patient"),
                "practitioner": reference_filter("Practitioner", "doctor_id", parameter="practitioner"),
                "date": date_filter("date", "slot__start"),
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
