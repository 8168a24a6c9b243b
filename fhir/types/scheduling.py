"""Schedule (OPD schedules), Slot and Appointment."""

from django.db.models import Q

from appointments.models import Appointment, OpdSchedule, Slot
from appointments.views import AppointmentViewSet, OpdScheduleViewSet, SlotViewSet
from hms.api.permissions import role_of
from hms.api.roles import Role
from hospitals.models import Hospital

from .. import mapping
from ..params import integer_ids, prefixed_ids, reference_ids, tokens
from .base import Part, ResourceType, SearchParam, date_filter, reference_filter, scoped
from .people import DOCTOR_COLUMNS, PATIENT_COLUMNS

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


def _unavailable() -> Q:
    return (
        ~Q(status=Slot.Status.OPEN)
        | Q(hospital__opd_status=Hospital.OpdStatus.CLOSED)
        | Q(doctor__is_available=False)
        | Q(hospital__is_active=False)
    )


# code -> (now) -> condition: each built only when searched.
_SLOT_STATUS_QUERIES = {
    mapping.SLOT_FREE: lambda now: Slot.objects.bookable_q(now),
    mapping.SLOT_UNAVAILABLE: lambda now: _unavailable(),
    mapping.SLOT_BUSY: lambda now: ~Slot.objects.bookable_q(now) & ~_unavailable(),
}


def slot_status_queries(now) -> dict[str, Q]:
    """`mapping.slot_status` as conditions."""
    return {code: query(now) for code, query in _SLOT_STATUS_QUERIES.items()}


def _slot_status_filter(queryset, values, ctx):
    for codes in tokens(values):
        known = [code for code in dict.fromkeys(codes) if code in _SLOT_STATUS_QUERIES]
        if len(known) == 1:
            queryset = queryset.filter(_SLOT_STATUS_QUERIES[known[0]](ctx.now))
            continue
        condition = Q(pk__in=[])
        for code in known:
            condition |= _SLOT_STATUS_QUERIES[code](ctx.now)
        queryset = queryset.filter(condition)
    return queryset


def _include_schedules(rows, ctx):
    ids = {row["opd_schedule_id"] for row in rows if row["opd_schedule_id"]}
    if not ids:
        return []
    return [mapping.schedule(opd) for opd in _schedules(ctx).filter(pk__in=ids)]


# The columns `mapping.slot` reads (`held`: the page's annotation).
SLOT_COLUMNS = (
    *("id", "opd_schedule_id", "start", "end", "capacity", "booked", "held", "status", "updated_at"),
    *("hospital__timezone", "hospital__is_active", "hospital__opd_status"),
    *("doctor__is_available", "doctor__specialization"),
)

SLOT = ResourceType(
    "Slot",
    [
        Part(
            None,
            _slots,
            lambda row, ctx: mapping.slot(row, ctx.now),
            "updated_at",
            page=lambda queryset, ctx: queryset.with_held(ctx.now),
            columns=SLOT_COLUMNS,
            public=True,
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


# The columns `mapping.appointment` reads (of ~90 the REST queryset selects), and those each
# `_include` adds.
APPOINTMENT_COLUMNS = (
    *("id", "patient_id", "slot_id", "doctor_id", "hospital_id", "token_number", "status", "reason"),
    *("cancel_reason", "created_at", "updated_at", "slot__start", "slot__end", "slot__opd_schedule_id"),
    *("hospital__timezone", "doctor__user_id", "doctor__user__fullname", "patient__fullname"),
)
APPOINTMENT_INCLUDE_COLUMNS = {
    "Appointment:patient": tuple(f"patient__{column}" for column in PATIENT_COLUMNS),
    "Appointment:practitioner": ("hospital__is_active", *(f"doctor__{column}" for column in DOCTOR_COLUMNS)),
}


def _appointment_status_filter(queryset, values, ctx):
    for codes in tokens(values):
        queryset = queryset.filter(
            status__in=[HMS_APPOINTMENT_STATUS[code] for code in codes if code in HMS_APPOINTMENT_STATUS]
        )
    return queryset


def _include_patients(rows, ctx):
    seen, out = set(), []
    for row in rows:
        patient_id = row["patient_id"]
        if patient_id not in seen:
            seen.add(patient_id)
            out.append(mapping.patient(row, contact=ctx.sees_contact(patient_id), prefix="patient__"))
    return out


def _include_practitioners(rows, ctx):
    admin = role_of(ctx.request.user) == Role.ADMIN
    seen, out = set(), []
    for row in rows:
        doctor_id = row["doctor_id"]
        if doctor_id in seen or not (admin or (row["doctor__user__is_active"] and row["hospital__is_active"])):
            continue
        seen.add(doctor_id)
        out.append(mapping.practitioner(row, prefix="doctor__"))
    return out


def appointment_row(pk: int) -> dict:
    """One appointment's columns as the searches read them (whoever may see it: the caller's check is
    done), for `mapping.appointment`."""
    return Appointment.objects.filter(pk=pk).values(*APPOINTMENT_COLUMNS).get()


APPOINTMENT = ResourceType(
    "Appointment",
    [
        Part(
            None,
            _appointments,
            lambda row, ctx: mapping.appointment(row),
            "updated_at",
            columns=APPOINTMENT_COLUMNS,
            include_columns=APPOINTMENT_INCLUDE_COLUMNS,
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
