"""Redis killed and started again empty under a running gunicorn (see bin/chaos). What each user of the
shared cache does, checked from outside:

- cached reads (hospital, availability, slot list) and the token user fall back to the database: 200;
- throttled writes cannot count and answer 503 in the error shape (never 500), acting on nothing;
- Idempotency-Keys live in the database: a retry made while Redis is down or after it came back empty
  replays the first answer, never books twice;
- afterwards every acknowledged booking is in the database once, and the slot's counter agrees.

    bin/chaos.py PORT      (DATABASE_URL from bin/with-postgres, REDIS_PORT and REDIS_URL from bin/chaos)
"""

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from scenario import booking_world  # bin/, beside this script

BASE = f"http://127.0.0.1:{sys.argv[1]}"
REDIS_PORT = os.environ["REDIS_PORT"]
LEAKS = ("Traceback", "redis", "Redis", "ConnectionError", 'File "')
failures: list[str] = []
statuses: Counter = Counter()


def check(condition: bool, what: str) -> None:
    print(("ok    " if condition else "FAIL  ") + what, flush=True)
    if not condition:
        failures.append(what)


def call(method: str, path: str, body=None, token: str | None = None, key: str | None = None):
    request = urllib.request.Request(BASE + path, data=None if body is None else json.dumps(body).encode())
    request.method = method
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if key:
        request.add_header("Idempotency-Key", key)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, headers, payload = response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        status, headers, payload = error.code, dict(error.headers), error.read().decode()
    statuses[status] += 1
    if status >= 500 and status != 503:
        failures.append(f"{method} {path}: {status} {payload[:200]}")
    if any(leak in payload for leak in LEAKS):
        failures.append(f"{method} {path}: the answer leaks internals: {payload[:200]}")
    return status, headers, payload


def redis_start() -> subprocess.Popen:
    process = subprocess.Popen(
        ["redis-server", "--port", REDIS_PORT, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    for _ in range(100):
        if subprocess.run(["redis-cli", "-p", REDIS_PORT, "ping"], capture_output=True, text=True).stdout == "PONG\n":
            return process
        time.sleep(0.05)
    raise SystemExit("chaos: Redis did not start")


def setup() -> dict:
    """A hospital, a doctor, three roomy slots and 40 patients with tokens, made with the ORM."""
    return booking_world("Chaos", slots=3, patients=40)


def book_all(state: dict, slot: int, prefix: str) -> list:
    """Every patient books `slot` with its own key, all at once: (patient index, key, status, body)."""

    def one(index: int):
        key = f"{prefix}-{index}"
        status, _, payload = call("POST", "/api/v1/appointments", {"slot_id": slot}, state["tokens"][index], key)
        return index, key, status, payload

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(one, range(len(state["tokens"]))))


def reads_answer(state: dict, phase: str) -> None:
    token = state["tokens"][0]
    for path in (
        f"/api/v1/hospitals/{state['hospital']}",
        f"/api/v1/hospitals/{state['hospital']}/availability",
        f"/api/v1/slots?hospital_id={state['hospital']}&available=true",
        "/auth/profile",
    ):
        status, _, _ = call("GET", path, token=token)
        check(status == 200, f"{phase}: GET {path} -> {status}")


def retries_replay(state: dict, acknowledged: dict, phase: str, *, allow_503: bool) -> None:
    """Every acknowledged booking retried with its key: the same answer (or 503 while Redis is down)."""
    replayed = refused = 0
    for (index, key, slot), first_id in acknowledged.items():
        status, headers, payload = call("POST", "/api/v1/appointments", {"slot_id": slot}, state["tokens"][index], key)
        if status == 201 and json.loads(payload)["id"] == first_id and headers.get("Idempotent-Replayed") == "true":
            replayed += 1
        elif allow_503 and status == 503:
            refused += 1
        else:
            failures.append(f"{phase}: retry of {key}: {status} {payload[:200]} (first answer: id {first_id})")
    check(replayed + refused == len(acknowledged), f"{phase}: {replayed} retries replayed, {refused} refused (503)")


def main() -> None:
    redis = redis_start()
    state = setup()
    acknowledged: dict = {}

    def take(results, slot):
        for index, key, status, payload in results:
            if status == 201:
                acknowledged[(index, key, slot)] = json.loads(payload)["id"]
        return Counter(status for *_, status, _ in results)

    counts = take(book_all(state, state["slots"][0], "up"), state["slots"][0])
    check(counts == Counter({201: 40}), f"Redis up: 40 bookings -> {dict(counts)}")
    reads_answer(state, "Redis up")

    redis.kill()
    redis.wait()
    print("chaos: Redis killed", flush=True)
    reads_answer(state, "Redis down")
    counts = take(book_all(state, state["slots"][1], "down"), state["slots"][1])
    check(set(counts) <= {201, 503}, f"Redis down: new bookings -> {dict(counts)} (201 or 503 only)")
    retries_replay(state, acknowledged, "Redis down", allow_503=True)

    redis = redis_start()
    print("chaos: Redis started again, empty", flush=True)
    reads_answer(state, "Redis back")
    retries_replay(state, acknowledged, "Redis back (empty)", allow_503=False)
    counts = take(book_all(state, state["slots"][2], "back"), state["slots"][2])
    check(counts == Counter({201: 40}), f"Redis back: 40 bookings -> {dict(counts)}")

    import psycopg

    with psycopg.connect(os.environ["DATABASE_URL"]) as connection:
        rows = connection.execute(
            "SELECT id, patient_id, slot_id FROM appointments_appointment WHERE slot_id = ANY(%s)", [state["slots"]]
        ).fetchall()
        booked = dict(
            connection.execute("SELECT id, booked FROM appointments_slot WHERE id = ANY(%s)", [state["slots"]])
        )
    ids = {row[0] for row in rows}
    check(set(acknowledged.values()) <= ids, f"every acknowledged booking is stored ({len(acknowledged)})")
    check(len(rows) == len(acknowledged), f"nothing booked beyond the acknowledged: {len(rows)} rows")
    pairs = Counter((row[1], row[2]) for row in rows)
    check(max(pairs.values()) == 1, "no patient booked twice on one slot")
    per_slot = Counter(row[2] for row in rows)
    check(all(booked[slot] == per_slot[slot] for slot in state["slots"]), f"slot counters agree: {booked}")
    redis.kill()
    print(f"chaos: answers {dict(sorted(statuses.items()))}; {len(failures)} failures", flush=True)
    for failure in failures:
        print(f"chaos: FAIL {failure}", flush=True)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
