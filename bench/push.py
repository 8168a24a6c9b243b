"""`make bench-push`: the change feed under load (issue: real time).

On a throwaway PostgreSQL (bin/with-postgres): one uvicorn stream process, gunicorn for REST, N SSE
streams plus N WebSocket clients on one hospital's slot topic while bookings run at a fixed rate
through REST. Reports commit-to-client latency (p50/p99, from the event's `at` to its arrival at a
sampled client), the stream process's memory per idle connection, and REST req/s with and without the
streams open.

    PUSH_CLIENTS=1000 PUSH_RATE=20 PUSH_SECONDS=20 bin/with-postgres .venv/bin/python bench/push.py
"""

import asyncio
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

# ruff: noqa: S603, S607, S310 - this machine's own servers and the project's venv only.
ROOT = Path(__file__).resolve().parents[1]
PY = str(ROOT / ".venv" / "bin" / "python")
CLIENTS = int(os.environ.get("PUSH_CLIENTS", "1000"))  # of each kind: SSE and WebSocket
RATE = float(os.environ.get("PUSH_RATE", "20"))  # bookings per second
SECONDS = float(os.environ.get("PUSH_SECONDS", "20"))
SAMPLED = int(os.environ.get("PUSH_SAMPLED", "50"))  # clients of each kind that time every event
KINDS = os.environ.get("PUSH_KINDS", "sse,websocket").split(",")  # e.g. `sse` alone, to size one kind
ENV = {
    **os.environ,
    "SECRET_KEY": "bench-push-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
    "DEBUG": "false",
    "HMS_TESTING": "0",
    "HMS_ENV_FILE": "/dev/null",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "SECURE_SSL_REDIRECT": "false",
    "THROTTLE_BOOKING": "100000000/min",
    "EVENTS_HEARTBEAT_SECONDS": "15",
}


def say(text: str) -> None:
    print(f"[push] {text}", flush=True)


def django_setup():
    os.environ.update({key: value for key, value in ENV.items() if key not in os.environ or key == "HMS_TESTING"})
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hms.settings")
    import django

    django.setup()


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
    raise SystemExit(f"server on {port} did not start; see {log.name}")


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def received_latency_ms(message: dict) -> float:
    at = datetime.fromisoformat(message["at"].replace("Z", "+00:00"))
    return (datetime.now(UTC) - at).total_seconds() * 1000


async def sse_client(port: int, topic: str, latencies: list | None, ready: asyncio.Event, counter: list, total: int):
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
    writer.write(f"GET /api/v1/events/stream?topics={topic} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    await writer.drain()
    counter[0] += 1
    if counter[0] == total:
        ready.set()
    while True:
        line = await reader.readline()
        if not line:
            return
        if latencies is not None and line.startswith(b"data: "):
            latencies.append(received_latency_ms(json.loads(line[6:])))


async def ws_client(port: int, topic: str, latencies: list | None, ready: asyncio.Event, counter: list, total: int):
    import websockets

    async with websockets.connect(f"ws://127.0.0.1:{port}/ws/v1/events", max_queue=None) as ws:
        await ws.send(json.dumps({"action": "subscribe", "topics": [topic]}))
        await ws.recv()
        counter[0] += 1
        if counter[0] == total:
            ready.set()
        async for raw in ws:
            if latencies is not None:
                latencies.append(received_latency_ms(json.loads(raw)))


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


def main() -> None:
    (ROOT / "bench" / ".data").mkdir(exist_ok=True)
    django_setup()
    bookings = int(RATE * SECONDS) + 10
    data = prepare(bookings)
    stream_port, rest_port = free_port(), free_port()
    uvicorn = [PY, "-m", "uvicorn", "hms.asgi:application", "--port", str(stream_port), "--no-access-log",
               "--log-level", "warning", "--limit-concurrency", "20000", "--backlog", "4096",
               "--ws", os.environ.get("PUSH_WS", "websockets-sansio"),
               "--ws-per-message-deflate", os.environ.get("PUSH_DEFLATE", "false")]  # fmt: skip
    gunicorn = [str(ROOT / ".venv/bin/gunicorn"), "hms.wsgi:application", "-c", "deploy/gunicorn.conf.py",
                "-b", f"127.0.0.1:{rest_port}", "-w", "2"]  # fmt: skip
    servers = [start(uvicorn, stream_port), start(gunicorn, rest_port)]
    try:
        asyncio.run(measure(servers[0].pid, stream_port, rest_port, data))
    finally:
        for server in servers:
            server.terminate()
            server.wait(10)


async def measure(stream_pid: int, stream_port: int, rest_port: int, data: dict) -> None:
    rest_alone = rest_rps(rest_port, data["hospital_id"])
    topic = f"hospital.{data['hospital_id']}.slots"
    urllib.request.urlopen(f"http://127.0.0.1:{stream_port}/api/v1/events?topics={topic}").read()
    time.sleep(1)
    sse_latencies: list[float] = []
    ws_latencies: list[float] = []
    tasks = []

    async def open_clients(first: int, last: int) -> None:
        ready, counter = asyncio.Event(), [0]
        total = len(KINDS) * (last - first)
        for n in range(first, last):
            sampled = n < SAMPLED
            if "sse" in KINDS:
                client = sse_client(stream_port, topic, sse_latencies if sampled else None, ready, counter, total)
                tasks.append(asyncio.create_task(client))
            if "websocket" in KINDS:
                client = ws_client(stream_port, topic, ws_latencies if sampled else None, ready, counter, total)
                tasks.append(asyncio.create_task(client))
            if n % 100 == 99:
                await asyncio.sleep(0.2)
        await asyncio.wait_for(ready.wait(), timeout=120)
        await asyncio.sleep(2)

    # Memory per idle connection: the growth from a fifth of the clients to all of them (the first
    # connections also pay one-time costs: thread pools, lazily imported modules, allocator arenas).
    warm = max(CLIENTS // 5, 1)
    await open_clients(0, warm)
    idle_before = rss_kb(stream_pid)
    await open_clients(warm, CLIENTS)
    idle_after = rss_kb(stream_pid)
    per_connection = (idle_after - idle_before) * 1024 / (len(KINDS) * (CLIENTS - warm))
    say(f"{len(KINDS) * CLIENTS} connections open: stream process RSS {idle_before} KB at "
        f"{len(KINDS) * warm}, {idle_after} KB at {len(KINDS) * CLIENTS}: "
        f"{per_connection / 1024:.1f} KB per idle connection")  # fmt: skip
    loop = asyncio.get_running_loop()
    rest_with_streams = await loop.run_in_executor(None, rest_rps, rest_port, data["hospital_id"])
    booked = await loop.run_in_executor(None, book_at_rate, rest_port, data, SECONDS, RATE)
    await asyncio.sleep(3)
    for task in tasks:
        task.cancel()
    result = {
        "clients": {"sse": CLIENTS, "websocket": CLIENTS},
        "bookings": booked,
        "rate_per_second": RATE,
        "sse_latency_ms": _percentiles(sse_latencies),
        "websocket_latency_ms": _percentiles(ws_latencies),
        "events_timed": {"sse": len(sse_latencies), "websocket": len(ws_latencies)},
        "expected_per_kind": booked * min(SAMPLED, CLIENTS),
        "kb_per_idle_connection": round(per_connection / 1024, 1),
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
