"""The read replica from outside (run by bin/replica-check): gunicorn on argv[1] with REPLICA_DATABASE_URL
set to a streaming standby (STANDBY_URL) of the primary (DATABASE_URL). What served a read is told by the
databases, not by the API: the standby's table scan counters, and reads that only a standby whose replay
is paused (pg_wal_replay_pause) can answer, or cannot."""

import json
import os
import socket
import subprocess
import sys
import time
import uuid

import psycopg
from httpsend import send  # bin/, beside this script

BASE = f"http://127.0.0.1:{sys.argv[1]}"
PRIMARY, STANDBY = os.environ["DATABASE_URL"], os.environ["STANDBY_URL"]
MAX_LAG = float(os.environ["REPLICA_MAX_LAG_SECONDS"])
failures: list[str] = []


def call(method: str, path: str, body=None, token: str | None = None):
    status, _, payload = send(method, BASE + path, body, token)
    try:
        return status, json.loads(payload or b"null")
    except ValueError:
        return status, payload.decode(errors="replace")


def check(condition: bool, what: str) -> None:
    print(f"   {'ok  ' if condition else 'FAIL'} {what}")
    if not condition:
        failures.append(what)


def sql(url: str, query: str, params=None):
    with psycopg.connect(url, autocommit=True, connect_timeout=5) as connection:
        return connection.execute(query, params).fetchone()[0]


def standby_hospital_scans() -> int:
    return sql(
        STANDBY,
        "SELECT coalesce(seq_scan, 0) + coalesce(idx_scan, 0) FROM pg_stat_user_tables "
        "WHERE relname = 'hospitals_hospital'",
    )


def alter(url: str, statement: str) -> None:
    """ALTER SYSTEM on a server, then reload its configuration."""
    with psycopg.connect(url, autocommit=True, connect_timeout=5) as connection:
        connection.execute(statement)
        connection.execute("SELECT pg_reload_conf()")


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def wait_for(predicate, seconds: float, step: float = 0.25) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def replica_status(token: str) -> dict:
    status, body = call("GET", "/api/v1/system/status", token=token)
    assert status == 200, (status, body)
    return body["database"]["replica"]


def name_of(hospital_id: int, token: str | None = None) -> str:
    status, body = call("GET", f"/api/v1/hospitals/{hospital_id}", token=token)
    assert status == 200, (status, body)
    return body["name"]


status, body = call(
    "POST", "/api/v1/auth/login", {"username": os.environ["ADMIN_USERNAME"], "password": os.environ["ADMIN_PASSWORD"]}
)
assert status == 200, (status, body)
admin = body["access"]
status, hospitals = call("GET", "/api/v1/hospitals")
assert status == 200 and hospitals["results"], (status, hospitals)
hospital_id = hospitals["results"][0]["id"]

print("== public reads are served by the standby (its scan counter of hospitals_hospital)")
before = standby_hospital_scans()
for _ in range(4):
    call("GET", "/api/v1/hospitals")
    call("GET", f"/api/v1/hospitals/{hospital_id}")
    call("GET", "/api/v1/slots?available=true")
# Statistics reach the counters when a backend goes idle, at most every second (10 s when busy).
check(wait_for(lambda: standby_hospital_scans() > before, 15), "public hospital reads counted on the standby")

print("== the status endpoint shows the lag")
shown = replica_status(admin)
check(
    shown["reachable"] and not shown["link_lost"] and shown["in_use"] and 0 <= shown["lag_seconds"] <= MAX_LAG,
    f"replica status {shown}",
)

print("== read-your-writes: the standby's replay paused, the writer sees its write, others the old row")
# While replay is paused the standby's lag is measured from the last commit it replayed: this one. The
# throwaway primary runs with synchronous_commit=off, so pg_current_wal_lsn() (the WAL *written*) can
# still be short of a commit that just returned: waiting for that made the standby pause before
# replaying it, the lag then counted from an older commit passed REPLICA_MAX_LAG_SECONDS, and the
# anonymous read rightly went to the primary (the one failure in five). This commit is flushed, and
# the standby must replay up to the WAL *inserted* after it.
committed_at = time.monotonic()
with psycopg.connect(PRIMARY, autocommit=True, connect_timeout=5) as primary:
    primary.execute("SET synchronous_commit = on")
    primary.execute("SELECT txid_current()")
    target = primary.execute("SELECT pg_current_wal_insert_lsn()::text").fetchone()[0]
check(
    wait_for(lambda: sql(STANDBY, f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn"), 10, step=0.05),
    "the standby replayed the primary up to its last commit",
)
sql(STANDBY, "SELECT pg_wal_replay_pause()")
print(f"   replay pause state once requested: {sql(STANDBY, 'SELECT pg_get_wal_replay_pause_state()')}")
replayed_age = sql(STANDBY, "SELECT extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float")
check(
    replayed_age <= time.monotonic() - committed_at + 0.5,
    f"the standby's last replayed commit is that one ({replayed_age:.2f} s old)",
)
# pg_wal_replay_pause() only requests the pause: the startup process stops before the next WAL record
# it reads, and pg_get_wal_replay_pause_state() says 'pause requested' until then. A record that
# commits nothing (a logical message) gives it one to stop at; the writer's commit comes after it.
sql(PRIMARY, "SELECT pg_logical_emit_message(false, 'replica-check', 'pause')")
check(
    wait_for(lambda: sql(STANDBY, "SELECT pg_get_wal_replay_pause_state()") == "paused", 10, step=0.05),
    "the standby's replay is paused",
)
old_name = name_of(hospital_id)
new_name = f"Replica check {uuid.uuid4().hex[:8]}"
status, body = call("PATCH", f"/api/v1/hospitals/{hospital_id}", {"name": new_name}, admin)
check(status == 200, f"the admin renames the hospital ({status})")
check(name_of(hospital_id, admin) == new_name, "the writer reads its write at once (from the primary)")
stale = name_of(hospital_id)
elapsed = time.monotonic() - committed_at
if elapsed < MAX_LAG - 1:
    check(
        stale == old_name,
        f"an anonymous reader within the lag bound gets the standby's (old) row ({elapsed:.1f} s after the "
        f"last replayed commit; status {replica_status(admin)})",
    )
else:
    print(f"   skip the machine was too slow to read within the lag bound ({elapsed:.1f} s)")

print(f"== a standby lagging more than {MAX_LAG:g} s is skipped")
time.sleep(max(0.0, MAX_LAG + 1.5 - (time.monotonic() - committed_at)))
check(name_of(hospital_id) == new_name, "an anonymous reader gets the primary's row")
shown = replica_status(admin)
check(shown["lag_seconds"] is not None and shown["lag_seconds"] > MAX_LAG and not shown["in_use"], f"status {shown}")
sql(STANDBY, "SELECT pg_wal_replay_resume()")
check(wait_for(lambda: replica_status(admin)["in_use"], 15), "replay resumed: the standby is used again")
check(name_of(hospital_id) == new_name, "the standby has the write")

print("== the standby cut off from the primary (a wrong port): not used, its lag unknown")
# Having replayed all it received, such a standby reads a lag of 0 from its LSNs; its WAL receiver
# (pg_stat_wal_receiver) tells the link is lost.
conninfo = sql(STANDBY, "SHOW primary_conninfo")
with socket.socket() as probe:
    probe.bind(("127.0.0.1", 0))
    closed_port = probe.getsockname()[1]
alter(STANDBY, f"ALTER SYSTEM SET primary_conninfo = 'host=127.0.0.1 port={closed_port} user=postgres'")
check(
    wait_for(lambda: sql(STANDBY, "SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming'") == 0, 20),
    "the standby's WAL receiver stopped streaming",
)
wait_for(lambda: not replica_status(admin)["in_use"], 10)
shown = replica_status(admin)
check(
    shown["lag_seconds"] is None and shown["reachable"] and shown["link_lost"] and not shown["in_use"],
    f"status {shown}",
)
cut_off_name = f"Replica check {uuid.uuid4().hex[:8]}"
status, body = call("PATCH", f"/api/v1/hospitals/{hospital_id}", {"name": cut_off_name}, admin)
check(status == 200, f"the admin renames the hospital again ({status})")
time.sleep(1.5)  # every worker's probe (cached for a second) has seen the lost link
check(
    sql(STANDBY, "SELECT name FROM hospitals_hospital WHERE id = %s", [hospital_id]) == new_name,
    "the cut-off standby does not have the new write",
)
names = {name_of(hospital_id) for _ in range(6)}
check(names == {cut_off_name}, f"anonymous readers get the primary's row ({sorted(names)})")
alter(STANDBY, f"ALTER SYSTEM SET primary_conninfo = {literal(conninfo)}")
check(wait_for(lambda: replica_status(admin)["in_use"], 30), "the link restored: the standby is used again")
check(name_of(hospital_id) == cut_off_name, "the standby has the write made while it was cut off")

print("== the standby stopped: reads still answer 200 (from the primary)")
subprocess.run(["bash", "-c", os.environ["STOP_STANDBY"]], check=True, stdout=subprocess.DEVNULL)
statuses = [
    call("GET", path)[0] for _ in range(4) for path in ("/api/v1/hospitals", f"/api/v1/hospitals/{hospital_id}")
]
statuses += [call("GET", "/api/v1/slots?available=true")[0] for _ in range(4)]
check(set(statuses) == {200}, f"public reads with the standby down: {sorted(set(statuses))}")
shown = replica_status(admin)
check(not shown["reachable"] and not shown["in_use"], f"status {shown}")

if failures:
    print(f"replica-check: FAIL {len(failures)}: {failures}")
    sys.exit(1)
print("replica-check: public reads on the standby, read-your-writes, lag bound, status and fallback all hold")
