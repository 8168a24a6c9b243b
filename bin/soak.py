"""Soak: SOAK_SECONDS of mixed traffic against two gunicorn hosts and one stream server on one PostgreSQL.

Run by `make soak` (bin/soak starts PostgreSQL and the servers):
    soak.py PORT_A PORT_B STREAM_PORT      (SOAK_SERVER_PIDS: the servers' master pids, space-separated)
Reads, bookings, cancellations, admissions and discharges, emergencies and logins from SOAK_THREADS
threads at about SOAK_RATE requests/s in all, alternating between the two hosts, plus SOAK_STREAMS SSE
clients on the stream server reconnecting every minute. Sampled every 5 s: each server worker's RSS and
PostgreSQL's connections. At the end: 5xx count (must be 0), statuses no operation expects, worker RSS
after warm-up vs at the end (< 5% growth), connections (no growth after warm-up), p99 per minute (no
minute above SOAK_P99_FACTOR x the median minute), and `make race`'s invariants (bin/race.py's SQL).
SOAK_WRITE=1 puts the report at the top of bench/RESULTS.md. Exits non-zero when any check fails.
"""

import http.client
import os
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import race  # bin/race.py: the API client (call/ok/login/register) and the invariants' SQL
from soak_report import report, write_results  # bin/soak_report.py: the checks and the report

PORT_A, PORT_B, STREAM_PORT = sys.argv[1:4]
SECONDS = float(os.environ.get("SOAK_SECONDS", "1800"))
WARMUP = float(os.environ.get("SOAK_WARMUP", str(min(300.0, max(30.0, SECONDS / 10)))))
THREADS = int(os.environ.get("SOAK_THREADS", "12"))
RATE = float(os.environ.get("SOAK_RATE", "40"))
STREAMS = int(os.environ.get("SOAK_STREAMS", "4"))
PASSWORD = race.PASSWORD  # every account bin/race.py registers


samples: list[tuple[float, str, int, float]] = []  # (seconds since start, operation, status, latency s)
samples_lock = threading.Lock()
stream_events = Counter()
monitor: list[dict] = []  # {"t", "rss": {pid: (label, kib)}, "connections"}
started = time.monotonic()
stop = threading.Event()


def timed(operation: str, method: str, path: str, body=None, token=None, host=None):
    begin = time.monotonic()
    try:
        status, payload = race.call(method, path, body, token, host)
    except Exception as exc:  # noqa: BLE001 - a dropped connection or timeout is a failure to count, not a crash
        status, payload = 599, repr(exc)
    end = time.monotonic()
    with samples_lock:
        samples.append((begin - started, operation, status, end - begin))
    return status, payload


class World:
    """What the traffic works on: set up through the API like bin/race.py does."""

    def __init__(self):
        self.admin = race.login(os.environ["ADMIN_USERNAME"], os.environ["ADMIN_PASSWORD"])
        run_id = datetime.now().strftime("%H%M%S%f")
        self.prefix = f"soak{run_id}_"
        hospital = race.create_hospital(self.admin, f"Soak Hospital {run_id}", f"SOAK-{run_id}")
        self.hospital_id = hospital["id"]
        self.patients = race.register(self.prefix, int(os.environ.get("SOAK_PATIENTS", "30")))
        self.usernames = [f"{self.prefix}{i}" for i in range(len(self.patients))]
        doctor = race.create_doctor(
            self.admin,
            self.hospital_id,
            f"SOAK-LIC-{run_id}",
            f"soakdoc{run_id}",
            "Soak Doctor",
            f"soakdoc{run_id}@soak.example.org",
        )
        self.doctor_id = doctor["id"]
        first = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
        self.slots = [
            race.ok(
                *race.call(
                    "POST",
                    "/api/v1/slots",
                    {
                        "doctor_id": self.doctor_id,
                        "start": (first + timedelta(minutes=15 * i)).isoformat(),
                        "end": (first + timedelta(minutes=15 * i + 15)).isoformat(),
                        "capacity": 4,
                    },
                    self.admin,
                ),
                {201},
                "slot",
            )["id"]
            for i in range(int(os.environ.get("SOAK_SLOTS", "40")))
        ]
        ward = race.ok(
            *race.call(
                "POST",
                "/api/v1/wards",
                {
                    "hospital_id": self.hospital_id,
                    "name": "Soak ward",
                    "ward_number": run_id[-6:],
                    "ward_type": "general",
                },
                self.admin,
            ),
            {201},
            "ward",
        )
        self.beds = [
            race.ok(
                *race.call("POST", "/api/v1/beds", {"ward_id": ward["id"], "bed_number": f"S{i}"}, self.admin),
                {201},
                "bed",
            )["id"]
            for i in range(int(os.environ.get("SOAK_BEDS", "12")))
        ]
        self.lock = threading.Lock()
        self.booked: list[tuple[str, int]] = []  # (patient token, appointment id)
        self.occupied: list[int] = []  # bed ids
        self.open_emergencies: list[int] = []

    def pop(self, items: list):
        with self.lock:
            return items.pop(random.randrange(len(items))) if items else None

    def push(self, items: list, item) -> None:
        with self.lock:
            items.append(item)


def one_request(world: World) -> None:
    patient_id, token = random.choice(world.patients)
    roll = random.random()
    if roll < 0.12:
        timed("read hospitals", "GET", "/api/v1/hospitals?page_size=20")
    elif roll < 0.22:
        timed("read hospital", "GET", f"/api/v1/hospitals/{world.hospital_id}")
    elif roll < 0.34:
        timed("read availability", "GET", f"/api/v1/hospitals/{world.hospital_id}/availability")
    elif roll < 0.46:
        timed("read slots", "GET", f"/api/v1/slots?doctor_id={world.doctor_id}")
    elif roll < 0.54:
        timed("read my appointments", "GET", "/api/v1/appointments", token=token)
    elif roll < 0.58:
        timed("read emergencies", "GET", f"/api/v1/emergencies?hospital_id={world.hospital_id}", token=world.admin)
    elif roll < 0.68:
        status, body = timed("book", "POST", "/api/v1/appointments", {"slot_id": random.choice(world.slots)}, token)
        if status == 201:
            world.push(world.booked, (token, body["id"]))
    elif roll < 0.76:
        booked = world.pop(world.booked)
        if booked:
            timed("cancel", "POST", f"/api/v1/appointments/{booked[1]}/cancel", {"reason": "soak"}, booked[0])
    elif roll < 0.82:
        bed = random.choice(world.beds)
        status, _ = timed(
            "admit", "POST", f"/api/v1/beds/{bed}/admit", {"patient_id": patient_id, "reason": "soak"}, world.admin
        )
        if status == 201:
            world.push(world.occupied, bed)
    elif roll < 0.87:
        bed = world.pop(world.occupied)
        if bed:
            timed("discharge", "POST", f"/api/v1/beds/{bed}/discharge", {}, world.admin)
            timed("bed available", "POST", f"/api/v1/beds/{bed}/status", {"status": "available"}, world.admin)
    elif roll < 0.91:
        body = {
            "contact_number": "9800000000",
            "emergency_type": "accident",
            "latitude": 18.52,
            "longitude": 73.85,
            "hospital_id": world.hospital_id,
        }
        status, created = timed("report emergency", "POST", "/api/v1/emergencies", body, token)
        if status == 201:
            world.push(world.open_emergencies, created["id"])
    elif roll < 0.95:
        emergency = world.pop(world.open_emergencies)
        if emergency:
            timed(
                "close emergency",
                "POST",
                f"/api/v1/emergencies/{emergency}/status",
                {"status": "cancelled"},
                world.admin,
            )
    else:
        username = random.choice(world.usernames)
        timed("login", "POST", "/auth/login", {"username": username, "password": PASSWORD})


def traffic(world: World) -> None:
    interval = THREADS / RATE
    while not stop.is_set():
        begin = time.monotonic()
        one_request(world)
        stop.wait(max(0.0, interval - (time.monotonic() - begin)))


def stream(world: World) -> None:
    """An SSE client: holds a stream of the hospital's slots for about a minute, then reconnects."""
    path = f"/api/v1/events/stream?topics=hospital.{world.hospital_id}.slots"
    while not stop.is_set():
        begin = time.monotonic()
        connection = http.client.HTTPConnection("127.0.0.1", int(STREAM_PORT), timeout=30)
        status = 599
        try:
            connection.request("GET", path, headers={"Accept": "text/event-stream"})
            response = connection.getresponse()
            status = response.status
            stream_events["connections"] += 1
            deadline = begin + random.uniform(45, 75)
            while status == 200 and time.monotonic() < deadline and not stop.is_set():
                line = response.fp.readline()
                if not line:
                    break
                if line.startswith(b"id:"):
                    stream_events["events"] += 1
        except (OSError, http.client.HTTPException):
            stream_events["errors"] += 1
        finally:
            connection.close()
        with samples_lock:
            samples.append((begin - started, "stream", status, 0.0))
        stop.wait(1)


def workers(master_pids: list[str]) -> dict[int, str]:
    """Each server's worker processes (the master itself when it has none, as uvicorn with one worker)."""
    found = {}
    for index, master in enumerate(master_pids):
        label = ["gunicorn A", "gunicorn B", "uvicorn"][index] if index < 3 else f"server {index}"
        children = subprocess.run(["pgrep", "-P", master], capture_output=True, text=True).stdout.split()
        for pid in children or [master]:
            found[int(pid)] = label
    return found


def rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def pg_connections() -> int:
    sql = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    result = subprocess.run(["psql", "-tAc", sql, os.environ["PG_DB_NAME"]], capture_output=True, text=True)
    return int(result.stdout.strip() or -1)


def sample(master_pids: list[str]) -> None:
    while True:
        rss = {pid: (label, rss_kib(pid)) for pid, label in workers(master_pids).items()}
        monitor.append({"t": time.monotonic() - started, "rss": rss, "connections": pg_connections()})
        if stop.wait(5):
            return


def main() -> int:
    global started
    world = World()
    print(
        f"soak: set up hospital {world.hospital_id}, {len(world.slots)} slots, {len(world.beds)} beds, "
        f"{len(world.patients)} patients; {SECONDS:.0f} s of traffic at ~{RATE:.0f} requests/s",
        flush=True,
    )
    masters = os.environ.get("SOAK_SERVER_PIDS", "").split()
    started = time.monotonic()
    threads = [threading.Thread(target=sample, args=(masters,), daemon=True)]
    threads += [threading.Thread(target=traffic, args=(world,), daemon=True) for _ in range(THREADS)]
    threads += [threading.Thread(target=stream, args=(world,), daemon=True) for _ in range(STREAMS)]
    for thread in threads:
        thread.start()
    next_note = 60.0
    while time.monotonic() - started < SECONDS:
        time.sleep(1)
        if time.monotonic() - started >= next_note:
            with samples_lock:
                errors = sum(1 for s in samples if s[2] >= 500)
                count = len(samples)
            print(f"soak: {next_note:.0f} s, {count} requests, {errors} x 5xx", flush=True)
            next_note += 60
    stop.set()
    for thread in threads:
        thread.join(timeout=40)
    lines, failures = report(
        samples, monitor, stream_events, seconds=SECONDS, warmup=WARMUP, threads=THREADS, streams=STREAMS
    )
    for line in lines:
        print(f"soak: {line}")
    for failure in failures:
        print(f"soak: FAIL {failure}")
    print(f"soak: {len(failures)} failures")
    if os.environ.get("SOAK_WRITE") == "1":
        write_results(lines, failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
