"""The one-statement write paths (BOOK_SQL in services/bookings.py, HOLD_SQL and HOLD_BOOK_SQL in
services/hold_statements.py, CALL_NEXT_SQL in queue_statements.py): the parameters each statement takes
for the audit entry it inserts, running a booking or hold statement, and the model instances built
from a statement's answer (read by column name) so that a response needs no query.

Each caller declares its statement's answer as a named tuple, in the order of the statement's final
SELECT: `BookRow(*cursor_row)`. The names are the ones read here.
"""

import functools
from contextlib import nullcontext
from types import SimpleNamespace

from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, transaction

from accounts.activity import entry_fields
from accounts.models import User
from appointments.models import Appointment, Doctor, Slot
from hms.api.db import prepared_cursor
from hms.api.exceptions import Conflict
from hospitals.models import Hospital


def statement_params(by: User, now, **values) -> dict:
    """`values` and what a statement's audit entry records: the time, who acts and from where."""
    who = entry_fields(actor=by)
    return {
        "now": now,
        "by": by.pk,
        **{name: who[name] for name in ("actor_role", "actor_name", "ip", "request_id")},
        **values,
    }


def run_statement(sql: str, params: dict, *, constraint_refusals: dict[str, tuple[str, str]]):
    """Run a booking or hold statement: the row it answers, or None. Outside a transaction the statement
    is its own; inside one, a savepoint keeps a refused statement from aborting the caller's. A unique
    constraint named in `constraint_refusals` (a concurrent hold or booking of the same patient and
    slot committed first) is a 409 with its (message, code)."""
    try:
        with transaction.atomic() if connection.in_atomic_block else nullcontext(), prepared_cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()
    except IntegrityError as error:
        constraint = getattr(getattr(error.__cause__, "diag", None), "constraint_name", None)
        if constraint in constraint_refusals:
            message, code = constraint_refusals[constraint]
            raise Conflict(message, code=code) from None
        raise


def seen_slot(row) -> SimpleNamespace:
    """The slot as a statement saw it (`slot_id`, `hospital_id`, `start`, `status`, `booked`, `hold_count`,
    `capacity`, `opd_status`, `is_available`), for `booking_refusal`: plain attributes, no model is built
    for a refusal."""
    return SimpleNamespace(id=row.slot_id, hospital_id=row.hospital_id, start=row.start, status=row.status,
                           booked=row.booked, held=row.hold_count, capacity=row.capacity,
                           hospital=SimpleNamespace(opd_status=row.opd_status, is_active=True),
                           doctor=SimpleNamespace(is_available=row.is_available))  # fmt: skip


@functools.cache
def _load_order(model, names: tuple[str, ...]) -> list[str]:
    return [field.attname for field in model._meta.concrete_fields if field.attname in names]


def loaded(model, related: dict, **values):
    """`model` as the ORM loads a row of these columns (attribute names; any other field is deferred:
    read, it would be queried, never made up), with `related` objects in its relation caches: the
    keyword constructor computed every other field's default, most of building a response's objects."""
    names = _load_order(model, tuple(values))
    instance = model.from_db(DEFAULT_DB_ALIAS, names, [values[name] for name in names])
    for name, obj in related.items():
        model._meta.get_field(name).set_cached_value(instance, obj)
    return instance


def booked_from_row(row, *, by: User, patient: User, now, reason: str) -> Appointment:
    """The appointment a booking statement inserted (`appointment_id`, `token`), with its slot (as the
    statement left it: `now_booked`, `now_held`), doctor (and user) and hospital built from the
    statement's row: the response needs no query."""
    hospital = loaded(Hospital, {}, id=row.hospital_id, opd_status=row.opd_status, timezone=row.timezone,
                       is_active=True)  # fmt: skip
    doctor_user = loaded(User, {}, id=row.doctor_user_id, fullname=row.doctor_name)
    doctor = loaded(Doctor, {"hospital": hospital, "user": doctor_user}, id=row.doctor_id,
                     hospital_id=row.hospital_id, user_id=row.doctor_user_id, specialization=row.specialization,
                     department=row.department, is_available=row.is_available)  # fmt: skip
    slot = loaded(Slot, {"hospital": hospital, "doctor": doctor}, id=row.slot_id, hospital_id=row.hospital_id,
                   doctor_id=row.doctor_id, start=row.start, end=row.end, status=row.status, booked=row.now_booked,
                   capacity=row.capacity, hold_count=row.now_held, last_token=row.token)  # fmt: skip
    slot.held = slot.hold_count
    return loaded(
        Appointment,
        {"patient": patient, "slot": slot, "doctor": doctor, "hospital": hospital, "booked_by": by},
        id=row.appointment_id,
        patient_id=patient.pk,
        slot_id=row.slot_id,
        doctor_id=row.doctor_id,
        hospital_id=row.hospital_id,
        token_number=row.token,
        status=Appointment.Status.BOOKED,
        reason=reason,
        cancel_reason="",
        booked_by_id=by.pk,
        created_at=now,
        updated_at=now,
    )
