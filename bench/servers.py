"""The servers a benchmark run needs: PostgreSQL databases (seeded), Redis, HMS and the floor."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

# ruff: noqa: S603, S607 - runs this machine's own servers, wrk and the project's venv only.
from common import BENCH, CALL_ENTRIES, DATA, GUNICORN, HOLD_SEATS, PY, ROOT, SECRET_KEY, WORKERS, free_port, run, say

PROCESSES: list[subprocess.Popen] = []


def database_url(name: str) -> str:
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path=f"/{name}"))


def psql(sql, database: str = "postgres", params=None) -> list:
    """One statement through psycopg (autocommit: CREATE DATABASE and VACUUM need it)."""
    import psycopg

    with psycopg.connect(database_url(database), autocommit=True) as conn:
        cursor = conn.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def ensure_database(name: str) -> None:
    from psycopg import sql

    if not psql("SELECT 1 FROM pg_database WHERE datname = %s", params=(name,)):
        psql(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


# The benchmark measures HMS, not its rate limits: every throttle's rate is lifted out of reach.
THROTTLES = (
    "THROTTLE_BOOKING",
    "THROTTLE_EMERGENCY",
    "THROTTLE_REGISTER",
    "THROTTLE_LOGIN_USERNAME",
    "THROTTLE_LOGIN_IP",
)


def hms_env(database: str, **extra) -> dict:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url(database),
        SECRET_KEY=SECRET_KEY,
        DEBUG="false",
        HMS_TESTING="0",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="false",
        SECURE_HSTS_SECONDS="0",
        SESSION_COOKIE_SECURE="false",
        CSRF_COOKIE_SECURE="false",
        **dict.fromkeys(THROTTLES, "100000000/min"),
        LOG_LEVEL="WARNING",
        **extra,
    )
    env["REDIS_URL"] = REDIS_URL  # the shared cache production uses (compose.yaml)
    return env


REDIS_URL = ""


def start_redis() -> None:
    """A throwaway Redis (no persistence) on a free port: the throttles' and read cache's shared cache."""
    global REDIS_URL
    port = free_port()
    start(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=DATA,
        env=dict(os.environ),
        log=DATA / "redis.log",
    )
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.05)
    REDIS_URL = f"redis://127.0.0.1:{port}/0"


def seed(database: str, scale: str) -> None:
    ensure_database(database)
    env = hms_env(database)
    run([PY, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env)
    started = time.monotonic()
    say(f"seed_demo --scale {scale} on database {database} (reused when present)")
    process = subprocess.Popen(
        [PY, "manage.py", "seed_demo", "--scale", scale], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    for line in process.stdout:
        if line.startswith(("Benchmark", "  hospitals", "  all ", "  patients", "seed_demo done")):
            say("  " + line.rstrip())
    if process.wait() != 0:
        sys.exit(f"bench: seed_demo --scale {scale} failed")
    say(f"  ready in {time.monotonic() - started:.0f}s")


def prepare(database: str, *, writes: bool = True) -> dict:
    """bench/prepare.py's ids, tokens and query counts; with `writes`, also the write mixes' material
    (seats for the hold-then-book mix, waiting walk-ins for call-next), sized by common.py's budget."""
    args = ["--hold-seats", str(HOLD_SEATS), "--call-entries", str(CALL_ENTRIES)] if writes else ["--reads-only"]
    done = subprocess.run(
        [PY, str(BENCH / "prepare.py"), *args], cwd=ROOT, env=hms_env(database), text=True, capture_output=True
    )
    if done.returncode != 0:
        sys.exit(f"bench: prepare.py on {database} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)


def floor_dir() -> Path:
    if os.environ.get("FLOOR_DIR"):
        return Path(os.environ["FLOOR_DIR"])
    for candidate in (ROOT.parent / "shared" / "floor", ROOT.parent.parent / "shared" / "floor"):
        if (candidate / "floor.py").exists():
            return candidate
    sys.exit("bench: floor.py not found at ../shared/floor; set FLOOR_DIR")


def floor_env() -> dict:
    return {**os.environ, "FLOOR_DB": "floor"}


def setup_floor() -> str:
    ensure_database("floor")
    say("floor: setup (1M rows on first use) and VACUUM ANALYZE")
    token = run([PY, "floor.py", "setup"], cwd=floor_dir(), env=floor_env()).strip().splitlines()[-1]
    psql("VACUUM ANALYZE floor_row", database="floor")
    return token


def wait_ready(port: int, process: subprocess.Popen, path: str) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"bench: the server on port {port} exited ({process.returncode})")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    sys.exit(f"bench: the server on port {port} did not answer {path}")


def start(cmd: list[str], *, cwd, env, log: Path) -> subprocess.Popen:
    handle = open(log, "w")  # noqa: SIM115 - kept open for the life of the server
    process = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
    PROCESSES.append(process)
    return process


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    if process in PROCESSES:
        PROCESSES.remove(process)


def start_hms(database: str, **extra: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = hms_env(
        database,
        **extra,
        BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY=str(WORKERS),
        # Workers are not recycled during a run (production recycles after 20,000 requests).
        GUNICORN_MAX_REQUESTS="0",
        DB_WAIT_SECONDS="30",
    )
    process = start(
        [str(ROOT / "deploy" / "entrypoint.sh"), "--no-migrate"], cwd=ROOT, env=env, log=DATA / f"hms-{database}.log"
    )
    wait_ready(port, process, "/health")
    return process, port


def start_floor() -> tuple[subprocess.Popen, int]:
    port = free_port()
    process = start(
        [GUNICORN, "-w", str(WORKERS), "-b", f"127.0.0.1:{port}", "floor:app"],
        cwd=floor_dir(),
        env=floor_env(),
        log=DATA / "floor.log",
    )
    wait_ready(port, process, "/public")
    return process, port
