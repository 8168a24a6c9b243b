"""Reminder throughput (issue 17's measure): N booked appointments due for a reminder, turned into
notifications by `notifications.reminders` and sent by `notifications.deliver` in W worker processes
(console e-mail backend, output discarded). Run under bin/with-postgres:

    HMS_TESTING=1 bin/with-postgres .venv/bin/python bench/reminders.py 20000 2

With --with-bookings (issue 17's "with the API's booking ratio measured at the same time"): HMS is
served by gunicorn with 2 workers (bench/servers.py's start_hms, behind a throwaway Redis) and wrk's
booking mix (bench/measure.py) runs against `POST /api/v1/appointments` in back-to-back windows of
BENCH_SECONDS: BENCH_ROUNDS windows before the reminders (idle), then while the 2 worker processes
create and send them; the windows wholly inside that run are "during". Its own booking material:
1,000 patients and 1,000 slots of 500 seats 2 to 20 days ahead (never due a reminder). With --floor
also the floor's `/auth` (../shared/floor, 1M rows set up on first use), idle, as bench/bench.py
compares writes with it.
Prints a markdown section for bench/RESULTS.md:

    HMS_TESTING=1 bin/with-postgres .venv/bin/python bench/reminders.py 100000 2 --with-bookings [--floor]

A smoke run: BENCH_SECONDS=2 BENCH_ROUNDS=2 and 3000 reminders.
"""

import multiprocessing
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hms.settings")
WITH_BOOKINGS = "--with-bookings" in sys.argv
if WITH_BOOKINGS:
    from common import SECRET_KEY as BENCH_SECRET_KEY

    # The booking tokens are issued here and checked by the gunicorn workers: one signing key.
    os.environ["SECRET_KEY"] = BENCH_SECRET_KEY
    os.environ.pop("JWT_SECRET_KEY", None)

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


def booking_material(patients: int = 1000, slots: int = 1000) -> dict:
    """Patients (with access tokens) and slots 2 to 20 days ahead for the booking mix: their bookings are
    never due a reminder, so the run's counts stay the reminders'."""
    from accounts.models import User
    from accounts.tokens import tokens_issue
    from appointments.models import Doctor, Slot

    doctor = Doctor.objects.get(license_number="BENCH-LIC")
    start = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
    rows = Slot.objects.bulk_create(
        [
            Slot(
                doctor=doctor,
                hospital=doctor.hospital,
                start=start + timedelta(minutes=25 * n),
                end=start + timedelta(minutes=25 * n + 20),
                local_date=(start + timedelta(minutes=25 * n)).date(),
                capacity=500,
            )  # fmt: skip
            for n in range(slots)
        ]
    )
    users = User.objects.bulk_create(
        [
            User(username=f"bench.booker{n}", fullname=f"Bench Booker {n}", email=f"b{n}@bench.example", password="!")
            for n in range(patients)
        ]  # fmt: skip
    )
    return {
        "booking_tokens": [tokens_issue(user=user)["access"] for user in users],
        "booking_slots": [slot.pk for slot in rows],
    }


def reminders_sent() -> tuple[int, int]:
    from notifications.models import Delivery, Notification

    reminders = Notification.objects.filter(key__startswith="reminder:")
    sent = Delivery.objects.filter(notification__in=reminders, channel="email", status=Delivery.Status.SENT)
    return reminders.count(), sent.count()


def rates(runs: list[dict]) -> str:
    return ", ".join(f"{run['rps']:.0f}" for run in runs)


def with_bookings(count: int, workers: int, *, floor: bool) -> None:
    import statistics
    import threading

    from common import DATA, ROUNDS, SECONDS
    from measure import booking_script, wrk
    from servers import PROCESSES, setup_floor, start_floor, start_hms, start_redis, stop

    database = settings.DATABASES["default"]["NAME"]
    load_start = os.getloadavg()
    DATA.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    prepare(count)
    data = booking_material()
    print(f"prepared {count} appointments and the booking material in {time.perf_counter() - began:.1f} s")
    connection.close()
    try:
        floor_rps = None
        if floor:
            floor_token = setup_floor()
            floor_server, floor_port = start_floor()
            floor_runs = [wrk(floor_port, "/auth", token=floor_token)["rps"] for _ in range(ROUNDS)]
            stop(floor_server)
            floor_rps = statistics.median(floor_runs)
            print(f"floor /auth idle: {', '.join(f'{rps:.0f}' for rps in floor_runs)} req/s")
        start_redis()
        server, port = start_hms(database)
        script = booking_script(data)
        wrk(port, "/api/v1/appointments", script=script)  # warm-up, not counted
        idle = [wrk(port, "/api/v1/appointments", script=script) for _ in range(ROUNDS)]
        print(f"booking idle: {rates(idle)} req/s")

        windows: list[tuple[float, float, dict]] = []
        done = threading.Event()

        def measure_during() -> None:
            while not done.is_set():
                opened = time.perf_counter()
                result = wrk(port, "/api/v1/appointments", script=script)
                windows.append((opened, time.perf_counter(), result))

        run_began = time.perf_counter()
        measuring = threading.Thread(target=measure_during)
        measuring.start()
        created, create_seconds = run("reminders", workers)
        sent, send_seconds = run("deliver", workers)
        run_ended = time.perf_counter()
        load_during = os.getloadavg()
        done.set()
        measuring.join()
        stop(server)
    finally:
        for process in list(PROCESSES):
            stop(process)
    total = run_ended - run_began
    during = [result for opened, closed, result in windows if closed <= run_ended]
    notifications, delivered = reminders_sent()
    idle_rps = statistics.median(run["rps"] for run in idle)
    during_rps = statistics.median(run["rps"] for run in during) if during else float("nan")
    statuses = {}
    for result in [*idle, *during]:
        for status, number in result.get("statuses", {}).items():
            statuses[status] = statuses.get(status, 0) + int(number)
    print(f"booking during: {rates(during) or 'no whole window'} req/s")
    floor_rows = (
        [
            f"| floor `/auth` (idle, median of {ROUNDS}) | {floor_rps:.0f} req/s |",
            f"| booking / floor, idle | {idle_rps / floor_rps:.2f} |",
            f"| booking / floor, during the reminders | {during_rps / floor_rps:.2f} |",
        ]
        if floor_rps
        else []
    )
    section = "\n".join(
        [
            f"## Reminders with bookings (issue 17), {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
            "",
            f"{count:,} due reminders created (`notifications.reminders`) and e-mailed (`notifications.deliver`, "
            f"console backend) by {workers} worker processes, while wrk's booking mix (-t1 -c8, windows of "
            f"{SECONDS} s) ran against `POST /api/v1/appointments` on gunicorn with 2 workers; "
            f"`bench/reminders.py {count} {workers} --with-bookings{' --floor' if floor else ''}`. "
            f"{os.cpu_count()} CPUs; load average (1/5/15 min) {'/'.join(f'{x:.1f}' for x in load_start)} at start, "
            f"{'/'.join(f'{x:.1f}' for x in load_during)} at the end of the reminder run.",
            "",
            "| measure | value |",
            "|---|---|",
            f"| reminders created | {created:,} in {create_seconds:.1f} s ({created / create_seconds:.0f}/s) |",
            f"| e-mails sent | {sent:,} in {send_seconds:.1f} s ({sent / send_seconds:.0f}/s) |",
            f"| end to end (created and sent) | {total:.1f} s (target < 300 s for 100,000) |",
            f"| check: reminder notifications / e-mails recorded sent | {notifications:,} / {delivered:,} |",
            f"| booking req/s idle (median of {len(idle)}) | {idle_rps:.0f} |",
            f"| booking req/s during the reminders (median of {len(during)} whole windows) | {during_rps:.0f} |",
            f"| during / idle | {during_rps / idle_rps:.2f} |",
            *floor_rows,
            f"| booking answers (idle and during) | {', '.join(f'{k}: {v}' for k, v in statuses.items())} |",
            "",
        ]
    )
    if not during:
        section += "\n(The reminder run ended before one whole wrk window: use a larger N or BENCH_SECONDS.)\n"
    print("\n" + section)


if __name__ == "__main__":
    arguments = [arg for arg in sys.argv[1:] if not arg.startswith("--")]
    count, workers = int(arguments[0]), int(arguments[1])
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    call_command("migrate", verbosity=0)
    if WITH_BOOKINGS:
        with_bookings(count, workers, floor="--floor" in sys.argv)
        sys.exit(0)
    began = time.perf_counter()
    prepare(count)
    print(f"prepared {count} appointments in {time.perf_counter() - began:.1f} s")
    connection.close()
    created, seconds = run("reminders", workers)
    print(f"reminders: {created} created by {workers} workers in {seconds:.1f} s ({created / seconds:.0f}/s)")
    sent, seconds = run("deliver", workers)
    print(f"deliver: {sent} e-mails sent by {workers} workers in {seconds:.1f} s ({sent / seconds:.0f}/s)")
