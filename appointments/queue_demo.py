"""Demo OPD queue (API.md section 17), called by `seed_demo` through appointments/demo.py: today's
queue of the first demo doctor with walk-ins of each priority, one of them called to a room, so the
queue board and the lobby display (/display/hospitals/{id}) have something to show. Idempotent: a
queue that already has entries is left as it is."""

from appointments.models import Doctor
from appointments.queue_models import OpdQueue
from appointments.queue_selectors import local_today
from appointments.services import queues

DEMO_WALK_INS = [("Walk-in A", "normal"), ("Walk-in B", "senior"), ("Walk-in C", "urgent"), ("Walk-in D", "normal")]
DEMO_ROOM = "OPD 1"


def seed_queue(*, doctor: Doctor, stdout=None) -> OpdQueue | None:
    if not doctor.hospital.is_active:
        return None
    queue, _created = queues.queue_open(by=doctor.user, doctor_id=doctor.pk, date=local_today(doctor.hospital.timezone))
    if not queue.entries.exists():
        for name, priority in DEMO_WALK_INS:
            queues.queue_entry_add(by=doctor.user, queue=queue, name=name, priority=priority)
        queues.queue_call_next(by=doctor.user, queue=queue, room=DEMO_ROOM)
    if stdout is not None:
        stdout.write(
            f"  queue: today's queue of {doctor.user.fullname} (board: /api/v1/hospitals/{doctor.hospital_id}"
            f"/queue-board, display: /display/hospitals/{doctor.hospital_id})\n"
        )
    return queue
