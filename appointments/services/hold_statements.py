"""Holding a seat and booking from a hold as one PostgreSQL statement each (services/holds.py calls
them first; other databases, and the cases below, take the locking path there).

As the one-statement booking (services/bookings.BOOK_SQL): the slot as the statement's snapshot saw it
(`target`, also what a refusal is explained from), the seat taken by a conditional UPDATE of the slot
row that PostgreSQL re-checks on the row a concurrent transaction left, and the hold or appointment,
the audit entries and the feed events inserted by the same statement, so it commits or fails as one.
The CHECK (booked + hold_count <= capacity) and the partial unique indexes (one active hold, one
active booking per patient and slot) back the rules up. Table, column and status names are the
models', written out so that the statements take only the request's values as parameters.

Neither statement settles lapsed holds: a slot on which the snapshot sees one (or, booking from a
hold, a hold that is a waitlist offer) is left to the locking path, which settles under the row lock
and emits what settling emits. So the events are those of the locking path: `held` is the slot's
`hold_count` once nothing lapsed is in it.

Booking from a hold takes its locks in the order of every hold write: the slot row (FOR UPDATE, its
conditions re-checked on the row as it now is), then the hold row (claimed only while still active),
then the slot's counters. The hold is claimed with the appointment's id drawn from its sequence (the
foreign key is checked at commit), so that nothing is written unless the hold was still active.
appointments/tests/test_hold_queue_statements.py checks the events and audit entries against the
locking path's.
"""


def json_time(column: str) -> str:
    """SQL for a timestamptz as Django's JSON encoder writes a UTC datetime (milliseconds when any)."""
    return (
        f"(to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS')"
        f" || CASE WHEN mod(extract(microseconds FROM {column})::bigint, 1000000) <> 0"
        f" THEN to_char({column} AT TIME ZONE 'UTC', '.MS') ELSE '' END || 'Z')"
    )


def _slot_event(target: str, seat: str) -> str:
    """The `slot.changed` event of the slot as `seat` (the UPDATE's RETURNING) left it."""
    start = json_time(f"{target}.start")
    return f"""
    SELECT %(now)s, 'hospital.' || {target}.hospital_id || '.slots', 'slot.changed',
           jsonb_build_object('slot_id', {seat}.id, 'doctor_id', {target}.doctor_id, 'start', {start},
                              'capacity', {seat}.capacity, 'booked', {seat}.booked, 'held', {seat}.hold_count,
                              'available', GREATEST({seat}.capacity - {seat}.booked - {seat}.hold_count, 0),
                              'status', {seat}.status)"""


_AUDIT_COLUMNS = (
    "INSERT INTO accounts_activity (at, actor_id, actor_role, actor_name, action, object_type, object_id,"
    " patient_id, ip, request_id, detail)"
)
_WHO = "%(now)s, %(by)s, %(actor_role)s, %(actor_name)s"
_FROM = "%(ip)s, %(request_id)s"

HOLD_SQL = f"""
WITH target AS (
    SELECT s.id, s.hospital_id, s.doctor_id, s.start, s.status, s.booked, s.capacity, s.hold_count,
           h.opd_status, d.is_available,
           EXISTS (SELECT 1 FROM appointments_appointment a
                   WHERE a.slot_id = s.id AND a.patient_id = %(patient)s
                     AND a.status IN ('booked', 'checked_in')) AS booked_here,
           EXISTS (SELECT 1 FROM appointments_hold o
                   WHERE o.slot_id = s.id AND o.patient_id = %(patient)s AND o.status = 'active') AS held_here,
           EXISTS (SELECT 1 FROM appointments_hold o
                   WHERE o.slot_id = s.id AND o.status = 'active' AND o.expires_at <= %(now)s) AS lapsed
    FROM appointments_slot s
    JOIN hospitals_hospital h ON h.id = s.hospital_id
    JOIN appointments_doctor d ON d.id = s.doctor_id
    WHERE s.id = %(slot)s AND h.is_active
),
seat AS (
    UPDATE appointments_slot s SET hold_count = s.hold_count + 1
    FROM target t
    WHERE s.id = t.id AND s.status = 'open' AND s.booked + s.hold_count < s.capacity AND s.start > %(now)s
      AND t.opd_status <> 'closed' AND t.is_available AND NOT t.booked_here AND NOT t.held_here AND NOT t.lapsed
      AND (%(scope)s::bigint IS NULL OR t.hospital_id = %(scope)s::bigint)
    RETURNING s.id, s.booked, s.hold_count, s.capacity, s.status
),
hold AS (
    INSERT INTO appointments_hold (slot_id, patient_id, hospital_id, status, expires_at, appointment_id,
                                   held_by_id, created_at, updated_at)
    SELECT seat.id, %(patient)s, t.hospital_id, 'active', %(expires)s, NULL, %(by)s, %(now)s, %(now)s
    FROM seat JOIN target t ON t.id = seat.id
    RETURNING id, hospital_id
),
events AS (
    INSERT INTO feed_pendingevent (at, topic, type, data)
    {_slot_event("t", "seat")}
    FROM seat JOIN target t ON t.id = seat.id
    UNION ALL
    SELECT %(now)s, 'user.' || %(patient)s, 'hold.active',
           jsonb_build_object('hold_id', hold.id, 'status', 'active', 'slot_id', %(slot)s::bigint,
                              'patient_id', %(patient)s::bigint, 'hospital_id', hold.hospital_id,
                              'expires_at', %(expires_json)s::text)
    FROM hold
),
audit AS (
    {_AUDIT_COLUMNS}
    SELECT {_WHO}, 'create', 'hold', hold.id, %(patient)s, {_FROM}, jsonb_build_object('slot_id', %(slot)s::bigint)
    FROM hold
)
SELECT t.id, t.hospital_id, t.doctor_id, t.start, t.status, t.booked, t.capacity, t.hold_count, t.opd_status,
       t.is_available, t.booked_here, t.held_here, t.lapsed, hold.id
FROM target t LEFT JOIN hold ON true
"""  # noqa: S608 - only the constants above are interpolated

HOLD_BOOK_SQL = f"""
WITH target AS (
    SELECT hd.id AS hold_id, hd.slot_id, hd.patient_id, hd.hospital_id AS hold_hospital_id,
           hd.status AS hold_status, hd.expires_at,
           s.hospital_id, s.doctor_id, s.start, s."end", s.status, s.booked, s.capacity, s.hold_count,
           h.is_active, h.opd_status, h.timezone, d.is_available, d.specialization, d.department, d.user_id,
           du.fullname AS doctor_name, p.fullname AS patient_name, p.phone_num AS patient_phone,
           EXISTS (SELECT 1 FROM appointments_appointment a
                   WHERE a.slot_id = s.id AND a.patient_id = hd.patient_id
                     AND a.status IN ('booked', 'checked_in')) AS booked_here,
           EXISTS (SELECT 1 FROM appointments_hold o
                   WHERE o.slot_id = s.id AND o.status = 'active' AND o.expires_at <= %(now)s) AS lapsed,
           EXISTS (SELECT 1 FROM appointments_waitlistentry w
                   WHERE w.hold_id = hd.id AND w.status = 'offered') AS offered
    FROM appointments_hold hd
    JOIN appointments_slot s ON s.id = hd.slot_id
    JOIN hospitals_hospital h ON h.id = s.hospital_id
    JOIN appointments_doctor d ON d.id = s.doctor_id
    JOIN accounts_user du ON du.id = d.user_id
    JOIN accounts_user p ON p.id = hd.patient_id
    WHERE hd.id = %(hold)s
),
slot_lock AS (
    SELECT s.id FROM appointments_slot s JOIN target t ON s.id = t.slot_id
    WHERE s.status = 'open' AND s.start > %(now)s AND s.hold_count > 0
      AND t.hold_status = 'active' AND t.expires_at > %(now)s
      AND t.is_active AND t.opd_status <> 'closed' AND t.is_available
      AND NOT t.booked_here AND NOT t.lapsed AND NOT t.offered
      AND (t.patient_id = %(by)s OR %(admin)s OR t.hold_hospital_id = %(scope)s::bigint)
      AND (%(slot_id)s::bigint IS NULL OR t.slot_id = %(slot_id)s::bigint)
      AND (%(patient_id)s::bigint IS NULL OR t.patient_id = %(patient_id)s::bigint)
      AND (%(hospital_id)s::bigint IS NULL OR t.hold_hospital_id = %(hospital_id)s::bigint)
    FOR UPDATE OF s
),
used AS (
    UPDATE appointments_hold hd
    SET status = 'used', updated_at = %(now)s,
        appointment_id = nextval(pg_get_serial_sequence('appointments_appointment', 'id'))
    FROM slot_lock
    WHERE hd.id = %(hold)s AND hd.status = 'active' AND hd.expires_at > %(now)s
    RETURNING hd.id, hd.appointment_id
),
seat AS (
    UPDATE appointments_slot s
    SET booked = s.booked + 1, hold_count = s.hold_count - 1, last_token = s.last_token + 1
    FROM used JOIN target t ON t.hold_id = used.id
    WHERE s.id = t.slot_id
    RETURNING s.id, s.booked, s.hold_count, s.last_token, s.capacity, s.status
),
booking AS (
    INSERT INTO appointments_appointment (id, patient_id, slot_id, doctor_id, hospital_id, token_number, status,
                                          reason, cancel_reason, booked_by_id, created_at, updated_at)
    SELECT used.appointment_id, t.patient_id, t.slot_id, t.doctor_id, t.hospital_id, seat.last_token, 'booked',
           %(reason)s, '', %(by)s, %(now)s, %(now)s
    FROM seat CROSS JOIN used CROSS JOIN target t
    RETURNING id, token_number
),
events AS (
    INSERT INTO feed_pendingevent (at, topic, type, data)
    {_slot_event("t", "seat")}
    FROM seat CROSS JOIN target t
    UNION ALL
    SELECT %(now)s, 'user.' || t.patient_id, 'appointment.booked',
           jsonb_build_object('appointment_id', b.id, 'status', 'booked', 'slot_id', t.slot_id,
                              'doctor_id', t.doctor_id, 'hospital_id', t.hospital_id, 'token_number', b.token_number)
    FROM booking b CROSS JOIN target t
    UNION ALL
    SELECT %(now)s, 'user.' || t.patient_id, 'hold.used',
           jsonb_build_object('hold_id', t.hold_id, 'status', 'used', 'slot_id', t.slot_id,
                              'patient_id', t.patient_id, 'hospital_id', t.hold_hospital_id,
                              'expires_at', {json_time("t.expires_at")})
    FROM booking b CROSS JOIN target t
),
audit AS (
    {_AUDIT_COLUMNS}
    SELECT {_WHO}, 'create', 'appointment', b.id, t.patient_id, {_FROM}, jsonb_build_object('hold_id', t.hold_id)
    FROM booking b CROSS JOIN target t
    UNION ALL
    SELECT {_WHO}, 'action', 'hold', t.hold_id, t.patient_id, {_FROM},
           jsonb_build_object('action', 'use', 'appointment_id', b.id)
    FROM booking b CROSS JOIN target t
)
SELECT t.hold_id, t.slot_id, t.patient_id, t.hold_hospital_id, t.hold_status, t.expires_at,
       t.hospital_id, t.doctor_id, t.start, t."end", t.status, t.booked, t.capacity, t.hold_count,
       t.is_active, t.opd_status, t.timezone, t.is_available, t.specialization, t.department, t.user_id,
       t.doctor_name, t.patient_name, t.patient_phone, t.booked_here, t.lapsed, t.offered,
       b.id, b.token_number, seat.booked, seat.hold_count
FROM target t LEFT JOIN booking b ON true LEFT JOIN seat ON true
"""  # noqa: S608 - only the constants above are interpolated
