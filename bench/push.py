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

import asyncio
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import datetime
from pathlib import Path

# ruff: noqa: S603, S607, S310 - this machine's own servers and the project's venv only.
ROOT = Path(__file__).resolve().parents[1]
PY = str(ROOT / ".venv" / "bin" / "python")
CLIENTS = int(os.environ.get("PUSH_CLIENTS", "1000"))  # of each kind: SSE and WebSocket
RATE = float(os.environ.get("PUSH_RATE", "20"))  # bookings per second
SECONDS = float(os.environ.get("PUSH_SECONDS", "20"))
SAMPLED = int(os.environ.get("PUSH_SAMPLED", "50"))  # clients of each kind that time every event
KINDS = os.environ.get("PUSH_KINDS", "sse,websocket").split(",")  # e.g. `sse` alone, to size one kind
WORKERS = int(os.environ.get("PUSH_WORKERS", "1"))  # uvicorn --workers (STREAM_WORKERS in production)
# The clients run in this many processes (each an asyncio loop); their CPU share is reported.
CLIENT_PROCESSES = int(os.environ.get("PUSH_CLIENT_PROCESSES", "2"))
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
    process.kill()  # not left behind, holding its port, after the database it served is gone
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


def latency_ms(arrived: float, payload: bytes) -> tuple[int, float] | None:
    """(event id, milliseconds from its `at` (written in the booking's transaction) to `arrived`)."""
    message = json.loads(payload)
    at = message.get("at")
    if not at or message.get("type") in ("subscribed", "snapshot"):
        return None
    return message["id"], (arrived - datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp()) * 1000


async def sse_client(port: int, topic: str, arrivals: list | None, opened: list) -> None:
    """An SSE stream; a sampled one notes each `data:` line with its arrival time (parsed after the run)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
    writer.write(f"GET /api/v1/events/stream?topics={topic} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    await writer.drain()
    opened[0] += 1
    if arrivals is None:
        while await reader.read(1 << 16):  # not sampled: read and drop, as cheaply as a client can
            pass
        return
    while line := await reader.readline():
        if line.startswith(b"data: "):
            arrivals.append((time.time(), line[6:]))


async def ws_client(port: int, topic: str, arrivals: list | None, opened: list) -> None:
    """A WebSocket client on the bare socket (RFC 6455 framing: it answers pings; a sampled one notes
    each text frame with its arrival time): a library's per-message cost would be the client's, not
    the server's, and 1,000 of them would make the client process the bottleneck."""
    import base64

    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        (
            "GET /ws/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 101"):
        raise RuntimeError(f"websocket handshake refused: {head[:40]!r}")
    writer.write(masked(0x1, json.dumps({"action": "subscribe", "topics": [topic]}).encode()))
    buffer = b""
    counted = False
    while data := await reader.read(1 << 16):
        arrived = time.time()
        buffer += data
        while len(buffer) >= 2:
            length, start = buffer[1] & 0x7F, 2
            if length == 126:
                length, start = int.from_bytes(buffer[2:4], "big"), 4
            elif length == 127:
                length, start = int.from_bytes(buffer[2:10], "big"), 10
            if len(buffer) < start + length:
                break
            opcode, payload, buffer = buffer[0] & 0x0F, buffer[start : start + length], buffer[start + length :]
            if opcode == 0x1:
                if not counted:  # the `subscribed` reply
                    counted = True
                    opened[0] += 1
                elif arrivals is not None:
                    arrivals.append((arrived, payload))
            elif opcode == 0x9:
                writer.write(masked(0xA, payload))
            elif opcode == 0x8:
                return


def masked(opcode: int, payload: bytes) -> bytes:
    """One client-to-server frame (clients mask; a zero mask keeps the payload as it is)."""
    assert len(payload) < 126
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + b"\0\0\0\0" + payload


def client_process(pipe, port: int, topic: str, kinds: list[str], numbers: list[int], sampled: int) -> None:
    """One of PUSH_CLIENT_PROCESSES client processes; the parent steers it through `pipe`:
    ("open", upto) opens its clients numbered below `upto`, ("mark",) starts the CPU clock, ("stop",)
    returns its latencies and the CPU share it used since the mark."""
    asyncio.run(_client_process(pipe, port, topic, kinds, numbers, sampled))


async def _client_process(pipe, port, topic, kinds, numbers, sampled) -> None:
    loop = asyncio.get_running_loop()
    arrivals: dict[str, list] = {"sse": [], "websocket": []}
    opened, tasks, done = [0], [], 0
    clock = (0.0, 0.0)
    while True:
        command = await loop.run_in_executor(None, pipe.recv)
        if command[0] == "open":
            mine = [n for n in numbers[done:] if n < command[1]]
            for index, n in enumerate(mine):
                for kind in kinds:
                    sample = arrivals[kind] if n < sampled else None
                    client = sse_client if kind == "sse" else ws_client
                    tasks.append(asyncio.create_task(client(port, topic, sample, opened)))
                if index % 50 == 49:
                    await asyncio.sleep(0.1)
            done += len(mine)
            expected = done * len(kinds)
            deadline = time.monotonic() + 120
            while opened[0] < expected and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            failed = [task for task in tasks if task.done() and task.exception()]
            pipe.send(("opened", opened[0], repr(failed[0].exception()) if failed else ""))
        elif command[0] == "mark":
            clock = (time.process_time(), time.monotonic())
            pipe.send(("marked",))
        elif command[0] == "stop":
            cpu = (time.process_time() - clock[0]) / max(time.monotonic() - clock[1], 1e-9)
            for task in tasks:
                task.cancel()
            latencies = {
                kind: [timed for arrived, payload in found if (timed := latency_ms(arrived, payload)) is not None]
                for kind, found in arrivals.items()
            }
            pipe.send(("result", latencies, cpu))
            return


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
    django_setup()
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
    idle_before = sum(rss_kb(pid) for pid in pids)
    open_clients(CLIENTS)
    idle_after = sum(rss_kb(pid) for pid in pids)
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
