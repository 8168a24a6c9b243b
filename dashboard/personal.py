# ruff: noqa: S608 - the SQL is built from model constants; values are parameters
"""A patient's (and donor's) and a doctor's dashboard in one prepared statement each (PostgreSQL).

The figures are a patient's own rows only (a few index lookups), so what costs is the work around them:
building three ORM queries and sending three statements cost more than the rows. One statement, planned
once per connection, returns them all: its part (upcoming appointments, blood requests by status, open
emergencies, donations; a doctor's: the hospital's time zone, today's appointments by status, the queue),
each row's place in its part, and the part's columns (unused ones are NULL).
The selectors' ORM versions are the reference (and serve other databases).
"""

from appointments.models import Appointment
from bloodbank.models import BloodRequest
from emergency.models import Emergency
from hms.api.db import prepared_cursor

UPCOMING, BLOOD_REQUESTS, EMERGENCIES, DONATIONS = range(4)
LIMIT = 10  # selectors.UPCOMING_LIMIT


def _quoted(values) -> str:
    return ", ".join(f"'{value}'" for value in values)


# The patient's next LIMIT active appointments first (their slots' starts), then the doctors' names of
# those few only: a patient with hundreds of bookings costs a sort of theirs, not a join per booking.
_UPCOMING = f"""(
    SELECT {UPCOMING} AS part, row_number() OVER (ORDER BY u.at) AS position, u.id, u.doctor_id AS ref,
        u.hospital_id, u.at, u.token_number AS number, u.status, du.fullname AS label
    FROM (
        SELECT a.id, a.doctor_id, a.hospital_id, s.start AS at, a.token_number, a.status
        FROM appointments_appointment a
        JOIN appointments_slot s ON s.id = a.slot_id
        WHERE a.patient_id = %s AND a.status IN ({_quoted(Appointment.ACTIVE)}) AND s.start >= %s
        ORDER BY s.start LIMIT {LIMIT}
    ) AS u
    JOIN appointments_doctor d ON d.id = u.doctor_id
    JOIN accounts_user du ON du.id = d.user_id
)"""
_BLOOD_REQUESTS = f"""(
    SELECT {BLOOD_REQUESTS}, 0, NULL, COUNT(*), NULL, NULL, NULL, status, NULL
    FROM bloodbank_bloodrequest WHERE requester_id = %s GROUP BY status
)"""
_EMERGENCIES = f"""(
    SELECT {EMERGENCIES}, row_number() OVER (ORDER BY created_at DESC), id, NULL, hospital_id, created_at, NULL,
        status, severity
    FROM emergency_emergency
    WHERE reporter_id = %s AND status NOT IN ({_quoted([Emergency.Status.RESOLVED, Emergency.Status.CANCELLED])})
    ORDER BY created_at DESC LIMIT {LIMIT}
)"""
_DONATIONS = f"""(
    SELECT {DONATIONS}, 0, NULL, COUNT(*), COALESCE(SUM(units), 0), NULL, NULL, NULL, NULL
    FROM bloodbank_donation WHERE donor_id = %s
)"""
PATIENT_SQL = f"{_UPCOMING} UNION ALL {_BLOOD_REQUESTS} UNION ALL {_EMERGENCIES} ORDER BY 1, 2"
DONOR_SQL = f"{_UPCOMING} UNION ALL {_BLOOD_REQUESTS} UNION ALL {_EMERGENCIES} UNION ALL {_DONATIONS} ORDER BY 1, 2"
_REQUEST_STATUSES = [value for value, _label in BloodRequest.Status.choices]


def patient_figures(user, now, *, donor: bool = False) -> dict:
    """The patient dashboard's figures (selectors.patient_dashboard's shape); with `donor`, also the
    donations' count and units."""
    params = [user.pk, now, user.pk, user.pk]
    with prepared_cursor() as cursor:
        cursor.execute(DONOR_SQL if donor else PATIENT_SQL, [*params, user.pk] if donor else params)
        rows = cursor.fetchall()
    upcoming, emergencies, requests = [], [], dict.fromkeys(_REQUEST_STATUSES, 0)
    donations = None
    for part, _position, pk, ref, hospital_id, at, number, status, label in rows:
        if part == UPCOMING:
            upcoming.append(
                {
                    "id": pk,
                    "patient_id": user.pk,
                    "patient_name": user.fullname,
                    "doctor_id": ref,
                    "doctor_name": label,
                    "hospital_id": hospital_id,
                    "start": at,
                    "token_number": number,
                    "status": status,
                }
            )
        elif part == BLOOD_REQUESTS:
            if status in requests:
                requests[status] = ref
        elif part == EMERGENCIES:
            emergencies.append(
                {"id": pk, "status": status, "severity": label, "hospital_id": hospital_id, "created_at": at}
            )
        else:
            donations = {"count": ref, "units": hospital_id}
    figures = {
        "upcoming_appointments": upcoming,
        "blood_requests_by_status": requests,
        "open_emergencies": emergencies,
    }
    if donor:
        figures["donations"] = donations
    return figures


ZONE, TODAY, QUEUE = range(3)
QUEUE_LIMIT = 50
_DOCTOR_APPOINTMENTS = """
    FROM appointments_appointment a
    JOIN appointments_slot s ON s.id = a.slot_id
    JOIN appointments_doctor d ON d.id = a.doctor_id"""
_DOCTOR_TODAY = "WHERE d.user_id = %s AND s.start >= %s AND s.start < %s"
# The queue first: its columns give the union its types (the other parts' NULLs take them).
DOCTOR_SQL = f"""(
    SELECT {QUEUE} AS part, row_number() OVER (ORDER BY s.start, a.token_number) AS position, a.id,
        a.patient_id AS ref, a.doctor_id, a.hospital_id, s.start AS at, a.token_number AS number, a.status,
        pu.fullname AS patient_name, du.fullname AS doctor_name{_DOCTOR_APPOINTMENTS}
    JOIN accounts_user pu ON pu.id = a.patient_id
    JOIN accounts_user du ON du.id = d.user_id
    {_DOCTOR_TODAY} AND a.status IN ({_quoted(Appointment.ACTIVE)})
    ORDER BY s.start, a.token_number LIMIT {QUEUE_LIMIT}
) UNION ALL (
    SELECT {TODAY}, 0, NULL, COUNT(*), NULL, NULL, NULL, NULL, a.status, NULL, NULL{_DOCTOR_APPOINTMENTS}
    {_DOCTOR_TODAY}
    GROUP BY a.status
) UNION ALL (
    SELECT {ZONE}, 0, NULL, NULL, NULL, NULL, NULL, NULL, timezone, NULL, NULL FROM hospitals_hospital WHERE id = %s
) ORDER BY 1, 2"""
_APPOINTMENT_STATUSES = [value for value, _label in Appointment.Status.choices]


def doctor_figures(user, start, end) -> tuple[dict, str | None]:
    """Today's appointments of the doctor by status and the queue (booked or checked in, by start and
    token) in [start, end), with the time zone of the doctor's hospital as the statement read it (None
    without a hospital)."""
    with prepared_cursor() as cursor:
        cursor.execute(DOCTOR_SQL, [user.pk, start, end, user.pk, start, end, user.hospital_id])
        rows = cursor.fetchall()
    zone, today, queue = None, dict.fromkeys(_APPOINTMENT_STATUSES, 0), []
    for part, _position, pk, ref, doctor_id, hospital_id, at, number, status, patient_name, doctor_name in rows:
        if part == ZONE:
            zone = status
        elif part == TODAY:
            if status in today:
                today[status] = ref
        else:
            queue.append(
                {
                    "id": pk,
                    "patient_id": ref,
                    "patient_name": patient_name,
                    "doctor_id": doctor_id,
                    "doctor_name": doctor_name,
                    "hospital_id": hospital_id,
                    "start": at,
                    "token_number": number,
                    "status": status,
                }
            )
    return {"today_by_status": today, "queue": queue}, zone
