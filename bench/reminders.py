"""Reminder throughput (issue 17's measure): N booked appointments due for a reminder, turned into
notifications by `notifications.reminders` and sent by `notifications.deliver` in W worker processes
(console e-mail backend, output discarded). Run under bin/with-postgres:

    HMS_TESTING=1 bin/with-postgres .venv/bin/python bench/reminders.py 20000 2
"""

import multiprocessing
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hms.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402


def prepare(count: int) -> None:
    from accounts.models import User
    from appointments.models import Appointment, Doctor, Slot
    from hospitals.models import Hospital

    hospital = Hospital.objects.create(name="Bench", registration_number="BENCH-1", timezone="Europe/Berlin")
    doctor_user = User.objects.create(username="bench.doctor", fullname="Bench Doctor", email="d@bench.example",
                                      role="doctor", hospital=hospital)  # fmt: skip
    doctor = Doctor.objects.create(user=doctor_user, hospital=hospital, license_number="BENCH-LIC")
    start = timezone.now().replace(microsecond=0) + timedelta(hours=3)
    per_slot = 100
    slots = Slot.objects.bulk_create(
        [
            Slot(
                doctor=doctor,
                hospital=hospital,
                start=start + timedelta(minutes=n),
                end=start + timedelta(minutes=n + 1),
                local_date=start.date(),
                capacity=per_slot,
                booked=per_slot,
                last_token=per_slot,
            )  # fmt: skip
            for n in range((count + per_slot - 1) // per_slot)
        ]
    )
    users = User.objects.bulk_create(
        [
            User(username=f"bench{n}", fullname=f"Bench Patient {n}", email=f"p{n}@bench.example", password="!")
            for n in range(count)
        ],  # fmt: skip
        batch_size=5000,
    )
    Appointment.objects.bulk_create(
        [
            Appointment(
                patient=user,
                slot=slots[n // per_slot],
                doctor=doctor,
                hospital=hospital,
                token_number=n % per_slot + 1,
                status="booked",
            )  # fmt: skip
            for n, user in enumerate(users)
        ],
        batch_size=5000,
    )


def work(name: str, out) -> None:
    from notifications import delivery, sources

    connection.close()
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - the console backends' output
    job = {"reminders": sources.reminders, "deliver": delivery.deliver}[name]
    total = 0
    while True:
        result = job()
        done = result.get("created", 0) if name == "reminders" else result["sent"] + result["failed"]
        total += done
        if not done:
            break
    out.put(total)


def run(name: str, workers: int) -> tuple[int, float]:
    queue = multiprocessing.Queue()
    began = time.perf_counter()
    processes = [multiprocessing.Process(target=work, args=(name, queue)) for _ in range(workers)]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    return sum(queue.get() for _ in processes), time.perf_counter() - began


if __name__ == "__main__":
    count, workers = int(sys.argv[1]), int(sys.argv[2])
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    call_command("migrate", verbosity=0)
    began = time.perf_counter()
    prepare(count)
    print(f"prepared {count} appointments in {time.perf_counter() - began:.1f} s")
    connection.close()
    created, seconds = run("reminders", workers)
    print(f"reminders: {created} created by {workers} workers in {seconds:.1f} s ({created / seconds:.0f}/s)")
    sent, seconds = run("deliver", workers)
    print(f"deliver: {sent} e-mails sent by {workers} workers in {seconds:.1f} s ({sent / seconds:.0f}/s)")
