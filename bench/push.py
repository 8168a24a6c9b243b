"""`make bench-push`: the change feed under load (issue: real time).

On a throwaway PostgreSQL (bin/with-postgres): one uvicorn stream process (PUSH_WORKERS for more),
gunicorn for REST, N SSE streams plus N WebSocket clients on one hospital's slot topic while bookings
run at a fixed rate through REST. Reports commit-to-client latency (p50/p99, from the event's `at` to
its arrival at a sampled client; and for the first sampled client of each event, and the spread to the
last: the path to the stream process vs the fan-out), the stream processes' memory per idle
connection and CPU while bookings run (per event and connection), the clients' CPU (they run in
PUSH_CLIENT_PROCESSES processes on bare sockets, timestamps taken on arrival and parsed after the run,
so that the client is not what is measured), and REST req/s with and without the streams open.

    PUSH_CLIENTS=1000 PUSH_RATE=20 PUSH_SECONDS=20 bin/with-postgres .venv/bin/python bench/push.py
"""

import json
import os
import statistics
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

# ruff: noqa: S603, S607, S310 - this machine's own servers and the project's venv only.
from common import PY, ROOT, django_setup, free_port, memory_kb, server_env  # bench/common.py
from push_client import client_process  # bench/push_client.py: the SSE and WebSocket clients

CLIENTS = int(os.environ.get("PUSH_CLIENTS", "1000"))  # of each kind: SSE and WebSocket
RATE = float(os.environ.get("PUSH_RATE", "20"))  # bookings per second
SECONDS = float(os.environ.get("PUSH_SECONDS", "20"))
SAMPLED = int(os.environ.get("PUSH_SAMPLED", "50"))  # clients of each kind that time every event
KINDS = os.environ.get("PUSH_KINDS", "sse,websocket").split(",")  # e.g. `sse` alone, to size one kind
WORKERS = int(os.environ.get("PUSH_WORKERS", "1"))  # uvicorn --workers (STREAM_WORKERS in production)
# The clients run in this many processes (each an asyncio loop); their CPU share is reported.
CLIENT_PROCESSES = int(os.environ.get("PUSH_CLIENT_PROCESSES", "2"))
ENV = server_env(
    "bench-push-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
    THROTTLE_BOOKING="100000000/min",
    EVENTS_HEARTBEAT_SECONDS="15",
)


def say(text: str) -> None:
    print(f"[push] {text}", flush=True)


def prepare(patients: int) -> dict:
    from datetime import timedelta

    from django.core.management import call_command
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    from accounts.models import User
    from accounts.tokens import tokens_issue
    from appointments.models import Doctor, Slot
    from hospitals.models import Hospital

    hospital = Hospital.objects.create(name="Push bench hospital", registration_number="PUSH-1", city="Bench")
    doctor_user = User.objects.create(username="push-doctor", role="doctor", hospital=hospital, email="d@push.test")
    doctor = Doctor.objects.create(user=doctor_user, hospital=hospital, specialization="General", license_number="P-1")
    start = timezone.now() + timedelta(days=1)
    slots = Slot.objects.bulk_create(
        [
            Slot(
                hospital=hospital,
                doctor=doctor,
                start=start + timedelta(minutes=15 * n),
                end=start + timedelta(minutes=15 * n + 15),
                local_date=start.date(),
                capacity=1,
            )
            for n in range(patients)
        ]  # fmt: skip
    )
    users = User.objects.bulk_create(
        [User(username=f"push-{n}", role="user", email=f"p{n}@push.test") for n in range(patients)]
    )
    tokens = [tokens_issue(user=user)["access"] for user in users]
    return {"hospital_id": hospital.pk, "slots": [slot.pk for slot in slots], "tokens": tokens}


def start(command: list[str], port: int) -> subprocess.Popen:
    log = open(ROOT / "bench" / ".data" / f"push-server-{port}.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(command, cwd=ROOT, env=ENV, stdout=log, stderr=log)
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()  # not left behind, holding its port, after the database it served is gone
    raise SystemExit(f"server on {port} did not start; see {log.name}")


def book_at_rate(rest_port: int, data: dict, seconds: float, rate: float) -> int:
    booked = 0
    deadline = time.monotonic() + seconds
    n = 0
    while time.monotonic() < deadline and n < len(data["slots"]):
        began = time.monotonic()
        request = urllib.request.Request(
            f"http://127.0.0.1:{rest_port}/api/v1/appointments",
            data=json.dumps({"slot_id": data["slots"][n]}).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {data['tokens'][n]}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            booked += response.status == 201
        n += 1
        time.sleep(max(0.0, 1 / rate - (time.monotonic() - began)))
    return booked


def rest_rps(port: int, hospital_id: int, seconds: float = 5) -> float:
    """Requests per second of a hospital detail read, 8 client threads (the bench's wrk shape)."""
    done = [0]
    stop = time.monotonic() + seconds

    def loop():
        while time.monotonic() < stop:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/hospitals/{hospital_id}", timeout=10).read()
            done[0] += 1

    threads = [threading.Thread(target=loop) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return done[0] / seconds


def stream_processes(pid: int) -> list[int]:
    """The processes that hold streams: uvicorn itself, or its workers when it runs several."""
    if WORKERS == 1:
        return [pid]
    # Its workers are multiprocessing children (their command line does not name uvicorn).
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()] or [pid]


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks
    return total / os.sysconf("SC_CLK_TCK")


def main() -> None:
    (ROOT / "bench" / ".data").mkdir(exist_ok=True)
    django_setup(ENV)
    bookings = int(RATE * SECONDS) + 10
    data = prepare(bookings)
    stream_port, rest_port = free_port(), free_port()
    uvicorn = [PY, "-m", "uvicorn", "hms.asgi:application", "--port", str(stream_port), "--no-access-log",
               "--log-level", "warning", "--limit-concurrency", "20000", "--backlog", "4096",
               "--workers", str(WORKERS),
               "--ws", os.environ.get("PUSH_WS", "websockets-sansio"),
               "--ws-per-message-deflate", os.environ.get("PUSH_DEFLATE", "false")]  # fmt: skip
    gunicorn = [str(ROOT / ".venv/bin/gunicorn"), "hms.wsgi:application", "-c", "deploy/gunicorn.conf.py",
                "-b", f"127.0.0.1:{rest_port}", "-w", "2"]  # fmt: skip
    servers = [start(uvicorn, stream_port)]
    try:
        servers.append(start(gunicorn, rest_port))
        measure(servers[0].pid, stream_port, rest_port, data)
    finally:
        for server in servers:
            server.terminate()
            server.wait(10)


def measure(stream_pid: int, stream_port: int, rest_port: int, data: dict) -> None:
    import multiprocessing

    rest_alone = rest_rps(rest_port, data["hospital_id"])
    topic = f"hospital.{data['hospital_id']}.slots"
    urllib.request.urlopen(f"http://127.0.0.1:{stream_port}/api/v1/events?topics={topic}").read()
    time.sleep(1)
    pids = stream_processes(stream_pid)
    spawn = multiprocessing.get_context("spawn")
    pipes, processes = [], []
    for index in range(CLIENT_PROCESSES):
        here, there = spawn.Pipe()
        numbers = list(range(index, CLIENTS, CLIENT_PROCESSES))
        process = spawn.Process(target=client_process, args=(there, stream_port, topic, KINDS, numbers, SAMPLED))
        process.start()
        pipes.append(here)
        processes.append(process)

    def ask(command: tuple) -> list[tuple]:
        for pipe in pipes:
            pipe.send(command)
        return [pipe.recv() for pipe in pipes]

    def open_clients(upto: int) -> None:
        answers = ask(("open", upto))
        opened = sum(answer[1] for answer in answers)
        if opened < len(KINDS) * upto:
            raise SystemExit(f"only {opened} of {len(KINDS) * upto} clients connected: {answers}")
        time.sleep(2)

    # Memory per idle connection: the growth from a fifth of the clients to all of them (the first
    # connections also pay one-time costs: thread pools, lazily imported modules, allocator arenas).
    warm = max(CLIENTS // 5, 1)
    open_clients(warm)
    idle_before = sum(memory_kb(pid) for pid in pids)
    open_clients(CLIENTS)
    idle_after = sum(memory_kb(pid) for pid in pids)
    per_connection = (idle_after - idle_before) * 1024 / (len(KINDS) * (CLIENTS - warm))
    say(f"{len(KINDS) * CLIENTS} connections open: stream process{'es' if len(pids) > 1 else ''} RSS {idle_before} KB "
        f"at {len(KINDS) * warm}, {idle_after} KB at {len(KINDS) * CLIENTS}: "
        f"{per_connection / 1024:.1f} KB per idle connection")  # fmt: skip
    rest_with_streams = rest_rps(rest_port, data["hospital_id"])
    ask(("mark",))
    cpu_before, began = cpu_seconds(pids), time.monotonic()
    booked = book_at_rate(rest_port, data, SECONDS, RATE)
    time.sleep(3)
    server_seconds = time.monotonic() - began
    server_cpu = (cpu_seconds(pids) - cpu_before) / server_seconds
    answers = ask(("stop",))
    for process in processes:
        process.join(30)
    sse_latencies = [ms for answer in answers for _id, ms in answer[1]["sse"]]
    ws_latencies = [ms for answer in answers for _id, ms in answer[1]["websocket"]]
    # Where the time goes: the first sampled client of an event measures the path to the stream
    # process and out of it (commit, NOTIFY, publish, read); the spread to the last, the fan-out.
    first: dict[int, float] = {}
    last: dict[int, float] = {}
    for answer in answers:
        for timed in answer[1].values():
            for event_id, ms in timed:
                first[event_id] = min(first.get(event_id, ms), ms)
                last[event_id] = max(last.get(event_id, ms), ms)
    spread = [last[event_id] - first[event_id] for event_id in first]
    result = {
        "clients": {kind: CLIENTS for kind in KINDS},
        "stream_workers": WORKERS,
        "client_processes": CLIENT_PROCESSES,
        "bookings": booked,
        "rate_per_second": RATE,
        "sse_latency_ms": _percentiles(sse_latencies),
        "websocket_latency_ms": _percentiles(ws_latencies),
        "first_client_latency_ms": _percentiles(list(first.values())),
        "first_to_last_sampled_client_ms": _percentiles(spread),
        "events_timed": {"sse": len(sse_latencies), "websocket": len(ws_latencies)},
        "expected_per_kind": booked * min(SAMPLED, CLIENTS),
        "kb_per_idle_connection": round(per_connection / 1024, 1),
        # CPU while bookings ran, in cores (1.0 = one core busy): is the server or the client the limit?
        "cpu_cores_busy": {
            "stream_processes": round(server_cpu, 2),
            "stream_cpu_us_per_event_and_connection": round(
                server_cpu * server_seconds / max(booked * len(KINDS) * CLIENTS, 1) * 1e6, 1
            ),
            "each_client_process": [round(answer[2], 2) for answer in answers],
        },
        "load_average": os.getloadavg()[0],
        "rest_hospital_detail_rps": {"alone": round(rest_alone), "with_streams_open": round(rest_with_streams)},
    }
    print(json.dumps(result, indent=2))
    out = ROOT / "bench" / ".data"
    out.mkdir(exist_ok=True)
    (out / "push.json").write_text(json.dumps(result, indent=2))


def _percentiles(values: list[float]) -> dict:
    if not values:
        return {}
    ordered = sorted(values)
    return {
        "p50": round(statistics.median(ordered), 1),
        "p99": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 1),
        "max": round(ordered[-1], 1),
    }


if __name__ == "__main__":
    main()
