"""call-next as one PostgreSQL statement (services/queues.queue_call_next; other databases run the
ORM steps there).

The statement finds its queue first (`target`), and only if the caller may call it now: `checked`
(the caller checked that already: the service's ORM steps), or the caller's hospital's active queue
(`staff_hospital`: the rows QueueViewSet's scoped queryset shows staff, who are is_staff_of that
hospital), and in either case only while the queue's day (the hospital-local date, from the hospital's
time zone) is not over. It answers one row when it found the queue (the called entry's columns NULL
when nobody waited) and none otherwise: the view then takes the lookup and the service's checks, which
answer why (404, 403, queue_closed). So the hot path needs no lookup before the call.

The statement claims the first waiting entry (`FOR UPDATE SKIP LOCKED`: two desks calling at once
each lock a different entry and neither waits), marks it called, moves the queue's room, and inserts
the audit entry and the `queue.changed` event in the same statement, so it commits or fails as one.
Table, column and status names are the models' (appointments_queueentry = QueueEntry,
QueueEntry.Status.WAITING, QueueEntry.SERVING, Action.ACTION, ...), written out so that the
statement takes only the request's values as parameters.

The event carries the hospital's whole queue board (API.md section 15), built here as
`queue_selectors.queue_board` builds it. Every part of one statement reads the snapshot taken when
it began, so the board sees the claimed entry as it was (waiting): the called queue's `waiting` is one
less than the snapshot counts, and its `now_serving` is the latest call among its serving entries
and the one just made. Each queue's latest serving entry is one row read backwards from the partial
index `queue_entry_serving` (queue, called_at, id), not a sort of every entry the day has called.
appointments/tests/test_hold_queue_statements.py checks the event against `queue_board` on both paths.
"""

CALL_NEXT_SQL = """
WITH target AS (
    SELECT q.id, q.room, q.hospital_id, (%(now)s AT TIME ZONE h.timezone)::date AS today
    FROM appointments_opdqueue q
    JOIN hospitals_hospital h ON h.id = q.hospital_id
    WHERE q.id = %(queue)s AND q.date >= (%(now)s AT TIME ZONE h.timezone)::date
      AND (%(checked)s OR (h.is_active AND q.hospital_id = %(staff_hospital)s::bigint))
),
next AS (
    SELECT e.id FROM appointments_queueentry e
    WHERE e.queue_id = %(queue)s AND e.status = 'waiting' AND EXISTS (SELECT 1 FROM target)
    ORDER BY e.rank, e.token, e.id
    LIMIT 1
    FOR UPDATE SKIP LOCKED
),
called AS (
    UPDATE appointments_queueentry e
    SET status = 'called', called_at = %(now)s, updated_at = %(now)s,
        room = COALESCE(NULLIF(%(room)s, ''), NULLIF(e.room, ''), t.room)
    FROM next CROSS JOIN target t
    WHERE e.id = next.id
    RETURNING e.id, e.token, e.appointment_id, e.patient_id, e.name, e.priority, e.rank, e.room, e.called_at,
              e.added_by_id, e.created_at
),
moved AS (
    UPDATE appointments_opdqueue q SET room = c.room, updated_at = %(now)s
    FROM called c CROSS JOIN target t
    WHERE q.id = %(queue)s AND c.room <> '' AND c.room <> t.room
),
audit AS (
    INSERT INTO accounts_activity (at, actor_id, actor_role, actor_name, action, object_type, object_id,
                                   patient_id, ip, request_id, detail)
    SELECT %(now)s, %(by)s, %(actor_role)s, %(actor_name)s, 'action', 'queue_entry', c.id,
           c.patient_id, %(ip)s, %(request_id)s,
           jsonb_build_object('action', 'called', 'queue_id', %(queue)s::bigint, 'token', c.token, 'room', c.room)
    FROM called c
),
board AS (
    SELECT jsonb_agg(jsonb_build_object(
        'doctor_id', q.doctor_id,
        'doctor', jsonb_build_object('id', q.doctor_id, 'fullname', u.fullname,
                                     'specialization', d.specialization, 'department', d.department),
        'room', CASE WHEN q.id = %(queue)s AND c.room <> '' THEN c.room ELSE q.room END,
        'now_serving', (
            SELECT s.token FROM (
                (SELECT e.token, e.called_at, e.id FROM appointments_queueentry e
                 WHERE e.queue_id = q.id AND e.status IN ('called', 'in_consultation') AND e.id <> c.id
                 ORDER BY e.called_at DESC, e.id DESC LIMIT 1)
                UNION ALL
                SELECT c.token, c.called_at, c.id WHERE q.id = %(queue)s
            ) s
            ORDER BY s.called_at DESC, s.id DESC LIMIT 1),
        'waiting', (SELECT count(*) FROM appointments_queueentry e WHERE e.queue_id = q.id AND e.status = 'waiting')
                   - CASE WHEN q.id = %(queue)s THEN 1 ELSE 0 END
    ) ORDER BY q.id) AS queues
    FROM called c
    CROSS JOIN target t
    JOIN appointments_opdqueue q ON q.hospital_id = t.hospital_id AND q.date = t.today
    JOIN appointments_doctor d ON d.id = q.doctor_id
    JOIN accounts_user u ON u.id = d.user_id
),
event AS (
    INSERT INTO feed_pendingevent (at, topic, type, data)
    SELECT %(now)s, 'hospital.' || t.hospital_id || '.queue', 'queue.changed',
           jsonb_build_object('hospital_id', t.hospital_id, 'date', to_char(t.today, 'YYYY-MM-DD'),
                              'queues', COALESCE(board.queues, '[]'::jsonb))
    FROM called c CROSS JOIN target t CROSS JOIN board
)
SELECT t.hospital_id, c.id, c.token, c.appointment_id, c.patient_id, c.name, c.priority, c.rank, c.room,
       c.called_at, c.added_by_id, c.created_at
FROM target t LEFT JOIN called c ON true
"""
