"""Real faults under a running gunicorn (see bin/faults): PostgreSQL stopped and started again, then
crashed in the middle of a burst of bookings; an SSE stream on the stream server (uvicorn) is kept open
through the outage. Exits non-zero when any expectation is broken.

    bin/faults.py PORT GUNICORN_PID [STREAM_PORT STREAM_PID]
        (DATABASE_URL, PGPORT, PG_DATA_DIR from bin/with-postgres)
"""

import json
import os
import shlex
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from httpsend import send  # bin/, beside this script
from scenario import booking_world

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the project, for its stdlib-only SSE reader
from feed.sse_client import SSE  # noqa: E402

BASE = f"http://127.0.0.1:{sys.argv[1]}"
GUNICORN_PID = int(sys.argv[2])
STREAM_PORT = int(sys.argv[3]) if len(sys.argv) > 3 else None
STREAM_PID = int(sys.argv[4]) if len(sys.argv) > 4 else None
PG_BIN = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")
DATA_DIR = os.environ["PG_DATA_DIR"]
PG_PORT = os.environ["PGPORT"]
LEAKS = ("Traceback", "OperationalError", "psycopg", "connection to server", "refused", 'File "')
failures: list[str] = []


def check(condition: bool, what: str) -> None:
    print(("ok    " if condition else "FAIL  ") + what, flush=True)
    if not condition:
        failures.append(what)


def call(method: str, path: str, body=None, token: str | None = None):
    status, headers, payload = send(method, BASE + path, body, token)
    return status, headers, payload.decode()


def as_postgres(*command: str) -> None:
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    subprocess.run([*prefix, *command], check=True, stdout=subprocess.DEVNULL)


def sql_count(sql: str, *params) -> int:
    """One count from the database, with bound parameters (a fresh connection: the server restarts)."""
    import psycopg

    with psycopg.connect(os.environ["DATABASE_URL"], connect_timeout=5) as connection:
        return connection.execute(sql, params).fetchone()[0]


def pg_stop(mode: str) -> None:
    as_postgres(f"{PG_BIN}/pg_ctl", "-D", DATA_DIR, "-m", mode, "-w", "stop")


def pg_start(*extra: str) -> None:
    """Start PostgreSQL as bin/with-postgres did (same port, socket and settings, from postmaster.opts),
    with `extra` server options appended."""
    with open(f"{DATA_DIR}/postmaster.opts") as opts:
        words = shlex.split(opts.read())[1:]  # drop the program
    options = []
    skip = False
    for word in words:
        if skip:
            skip = False
        elif word == "-D":
            skip = True
        else:
            options.append(shlex.quote(word))
    options += [shlex.quote(option) for option in extra]
    as_postgres(
        f"{PG_BIN}/pg_ctl", "-D", DATA_DIR, "-w", "-l", f"{DATA_DIR}/server.log", "-o", " ".join(options), "start"
    )


def workers() -> set[int]:
    output = subprocess.run(["ps", "-o", "pid=", "--ppid", str(GUNICORN_PID)], capture_output=True, text=True).stdout
    return {int(pid) for pid in output.split()}


def is_503_in_the_error_shape(status, headers, text) -> bool:
    try:
        body = json.loads(text)
    except ValueError:
        return False
    return (
        status == 503
        and headers.get("Retry-After") == "5"
        and body.get("type") == "server_error"
        and [error.get("code") for error in body.get("errors", [])] == ["service_unavailable"]
        and not any(leak in text for leak in LEAKS)
    )


def open_stream(topic: str) -> SSE:
    """An SSE stream of `topic` on the stream server (no token: slot topics are public)."""
    return SSE(f"http://127.0.0.1:{STREAM_PORT}/api/v1/events/stream?topics={topic}", timeout=60)


def slot_event(slot_id: int, booked: int):
    return lambda events: any(e["data"].get("slot_id") == slot_id and e["data"].get("booked") == booked for e in events)


def stream_alive() -> bool:
    try:
        os.kill(STREAM_PID, 0)
    except OSError:
        return False
    return True


def setup() -> dict:
    """A patient token, a hospital with a doctor and a slot with room for the burst; made with the ORM."""
    return booking_world("Fault", slots=4, patients=60)


def outage_checks(state: dict) -> None:
    patient = state["tokens"][0]
    status, _, text = call("GET", "/health")
    check(status == 200, f"/health during the outage: {status}")
    status, headers, text = call("GET", "/health/ready")
    body = json.loads(text) if text.startswith("{") else {}
    check(
        status == 503 and body.get("checks", {}).get("database") == "unreachable",
        f"/health/ready during the outage names the database: {status} {text}",
    )
    calls = [
        ("GET", "/api/v1/hospitals", None, None),
        ("GET", "/auth/profile", None, patient),
        ("POST", "/auth/login", {"username": "faultadmin", "password": "x"}, None),
        ("POST", "/api/v1/appointments", {"slot_id": state["slots"][0]}, patient),
        (
            "POST",
            "/api/v1/emergencies",
            {"contact_number": "+1 555 0100", "emergency_type": "other", "address": "x"},
            None,
        ),
        ("GET", "/api/v1/system/status", None, state["admin"]),
    ]
    for method, path, body, token in calls:
        started = time.monotonic()
        status, headers, text = call(method, path, body, token)
        elapsed = time.monotonic() - started
        check(
            is_503_in_the_error_shape(status, headers, text),
            f"{method} {path} during the outage: {status} {text[:160]}",
        )
        check(elapsed < 10, f"{method} {path} answered within 10 s during the outage ({elapsed:.2f} s)")


def wait_ready(seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if call("GET", "/health/ready")[0] == 200:
            return True
        time.sleep(0.3)
    return False


def recovery_checks(state: dict, before_workers: set[int]) -> None:
    check(wait_ready(), "/health/ready is 200 again after PostgreSQL restarted")
    # Several calls, so every worker's stale pooled connection is exercised.
    statuses = Counter(call("GET", "/auth/profile", token=state["tokens"][1])[0] for _ in range(20))
    check(statuses == Counter({200: 20}), f"API calls after recovery: {dict(statuses)}")
    status, _, _ = call("POST", "/auth/login", {"username": "faultadmin", "password": os.environ["ADMIN_PASSWORD"]})
    check(status == 200, f"login after recovery: {status}")
    check(workers() == before_workers and len(before_workers) > 0, "the same gunicorn workers serve (no restart)")


def crash_mid_burst(state: dict) -> None:
    """Bookings in flight when PostgreSQL crashes (-m immediate): nothing half-written afterwards."""
    statuses: Counter = Counter()
    acknowledged: list[int] = []
    stop = threading.Event()
    lock = threading.Lock()

    def book(index: int):
        token = state["tokens"][index % len(state["tokens"])]
        turn = index
        while not stop.is_set():  # round and round the slots (409 once booked) until the crash is over
            slot = state["slots"][turn % len(state["slots"])]
            turn += 1
            status, _, text = call("POST", "/api/v1/appointments", {"slot_id": slot}, token)
            with lock:
                statuses[status] += 1
                if status == 201:
                    acknowledged.append(json.loads(text)["id"])

    with ThreadPoolExecutor(max_workers=30) as pool:
        futures = [pool.submit(book, index) for index in range(len(state["tokens"]))]
        time.sleep(0.4)
        pg_stop("immediate")
        time.sleep(1.0)
        stop.set()
        for future in futures:
            future.result()
    pg_start("-c", "synchronous_commit=on")
    check(wait_ready(), "/health/ready is 200 again after the crash")
    print(f"      bookings during the crash: {dict(sorted(statuses.items()))}")
    check(set(statuses) <= {201, 409, 503}, f"only 201/409/503 during the crash: {dict(statuses)}")
    check(statuses[503] > 0, "some bookings met the crash (503)")
    slots = state["slots"]
    mismatched = sql_count(
        """SELECT count(*) FROM appointments_slot s WHERE s.id = ANY(%s) AND s.booked <> (
             SELECT count(*) FROM appointments_appointment a
             WHERE a.slot_id = s.id AND a.status IN ('booked', 'checked_in'))""",
        slots,
    )
    check(mismatched == 0, f"every slot's booked count equals its active appointments ({mismatched} differ)")
    orphans = sql_count(
        """SELECT count(*) FROM appointments_appointment a WHERE a.slot_id = ANY(%s) AND NOT EXISTS (
             SELECT 1 FROM accounts_activity x WHERE x.object_type = 'appointment'
             AND x.object_id = a.id AND x.action = 'create')""",
        slots,
    )
    check(orphans == 0, f"every appointment has its audit entry, written in the same transaction ({orphans} lack one)")
    duplicates = sql_count(
        """SELECT count(*) FROM (SELECT slot_id, token_number FROM appointments_appointment
             WHERE slot_id = ANY(%s) GROUP BY 1, 2 HAVING count(*) > 1) d""",
        slots,
    )
    check(duplicates == 0, "no token number issued twice")
    kept = sql_count("SELECT count(*) FROM appointments_appointment WHERE id = ANY(%s)", acknowledged)
    check(kept == len(acknowledged), f"every acknowledged booking survived the crash ({kept}/{len(acknowledged)})")
    rows = sql_count("SELECT count(*) FROM appointments_appointment WHERE slot_id = ANY(%s)", slots)
    print(f"      appointments kept: {rows} (201 answers: {statuses[201]})")


def book_on(state: dict, slot_id: int, patient: int) -> int:
    return call("POST", "/api/v1/appointments", {"slot_id": slot_id}, state["tokens"][patient])[0]


def stream_before_outage(state: dict) -> "SSE | None":
    """An SSE stream on the hospital's slot topic, shown to work: a booking's event reaches it."""
    if not STREAM_PORT:
        return None
    stream = open_stream(f"hospital.{state['hospital']}.slots")
    check(stream.status == 200, f"SSE stream opened on the stream server: {stream.status}")
    slot = state["slots"][-1]
    check(book_on(state, slot, -1) == 201, "a booking before the outage")
    check(stream.until(slot_event(slot, 1), 15), "the stream received that booking's slot event")
    return stream


def stream_during_outage(state: dict, stream: "SSE | None") -> None:
    if stream is None:
        return
    comments = stream.comments
    time.sleep(5)  # the stream server sends a comment line every EVENTS_HEARTBEAT_SECONDS (2 here)
    check(not stream.closed.is_set(), "the open SSE stream stays open while PostgreSQL is down")
    check(stream.comments > comments, f"its heartbeats keep coming ({stream.comments - comments} in 5 s)")
    check(stream_alive(), "the stream server is still running")
    fresh = open_stream(f"hospital.{state['hospital']}.slots")
    answer = fresh.text
    headers = {name.title(): value for name, value in fresh.headers.items()}  # uvicorn sends lower case
    check(
        fresh.status == 200 or is_503_in_the_error_shape(fresh.status, headers, answer),
        f"a stream opened during the outage: 200, or 503 with Retry-After in the error shape ({fresh.status} {answer})",
    )
    fresh.close()


def stream_after_outage(state: dict, stream: "SSE | None") -> None:
    if stream is None:
        return
    slot = state["slots"][-1]
    check(book_on(state, slot, -2) == 201, "a booking after PostgreSQL is back")
    check(stream.until(slot_event(slot, 2), 20), "the stream opened before the outage received the new booking's event")
    ids = [event["id"] for event in stream.events]
    check(ids == sorted(set(ids)), f"its event ids are strictly increasing, no duplicate: {ids}")
    fresh = open_stream(f"hospital.{state['hospital']}.slots")
    check(fresh.status == 200, f"a new SSE stream opens after the outage: {fresh.status}")
    fresh.close()
    stream.close()
    check(stream_alive(), "the same stream server process served throughout")


def main() -> None:
    state = setup()
    before = workers()

    print("== database up")
    check(call("GET", "/health")[0] == 200, "/health")
    check(call("GET", "/health/ready")[0] == 200, "/health/ready")
    check(call("GET", "/auth/profile", token=state["tokens"][0])[0] == 200, "signed-in API call")
    stream = stream_before_outage(state)

    print("== PostgreSQL stopped (pg_ctl stop -m fast)")
    pg_stop("fast")
    outage_checks(state)
    stream_during_outage(state, stream)

    print("== PostgreSQL started again on the same port (synchronous_commit on, as in production)")
    # bin/with-postgres turns synchronous_commit off for speed; with it on, an acknowledged commit
    # survives the crash below, so every 201 can be checked.
    pg_start("-c", "synchronous_commit=on")
    recovery_checks(state, before)
    stream_after_outage(state, stream)

    print("== PostgreSQL crashes (pg_ctl stop -m immediate) during a burst of bookings")
    crash_mid_burst(state)
    check(workers() == before, "still the same gunicorn workers")

    print(f"faults: {len(failures)} failure(s)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
