"""What every part of the benchmark shares: paths, run lengths, the endpoints and their targets."""

import os
import socket
import subprocess
import sys
from pathlib import Path

# ruff: noqa: S603, S607 - runs this machine's own servers, wrk and the project's venv only.
ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
DATA = BENCH / ".data"
RAW = DATA / "raw"  # every wrk output, for a second look
PY = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
# The data the endpoints run over: seed_demo --scale 1 (BENCH_SCALE=0.01 for a quick look at small data
# in a data dir of its own, PG_KEEP_DIR: the kept one holds scale 1).
SCALE = os.environ.get("BENCH_SCALE", "1")
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
CONNECTIONS = 8
WORKERS = 2
SECRET_KEY = "bench-only-not-a-secret-" + "x" * 40

# name, label, floor path, kind (reads are held to 0.7x, reads with the read cache off to 0.8x as issues 20
# and 21 ask, the write mixes to 0.5x)
ENDPOINTS = [
    ("health", "GET /health", "/public", "public"),
    ("slots", "GET /api/v1/slots?available=true&hospital_id=..", "/rows", "read"),
    ("near", "GET /api/v1/hospitals?near=..", "/rows", "read"),
    ("hospital", "GET /api/v1/hospitals/{id}", "/auth", "read"),
    ("doctors", "GET /api/v1/doctors?hospital_id=..", "/rows", "read"),
    ("availability", "GET /api/v1/hospitals/{id}/availability", "/auth", "read"),
    ("stock", "GET /api/v1/blood-banks/{id}/stock", "/auth", "read"),
    ("banks", "GET /api/v1/blood-banks", "/rows", "read"),
    ("dashboard_admin", "GET /api/v1/dashboard (admin)", "/auth", "read"),
    ("dashboard_patient", "GET /api/v1/dashboard (patient)", "/auth", "read"),
    ("appointments", "GET /api/v1/appointments (patient)", "/rows", "read"),
    ("emergencies", "GET /api/v1/emergencies (hospital admin)", "/rows", "read"),
    ("booking", "POST /api/v1/appointments (booking mix)", "/auth", "write"),
    # Issue 18. req/s counts every request: a pair is two (the hold, then the booking from it).
    ("hold_book", "POST /api/v1/slots/{id}/hold, then /appointments {hold_id}", "/auth", "write"),
    ("call_next", "POST /api/v1/queues/{id}/call-next (hospital admins)", "/auth", "write"),
    # FHIR R4 (issue 19): a schedule's free slots from today, a patient's appointments.
    ("fhir_slots", "GET /fhir/R4/Slot?schedule=..&start=ge..&status=free", "/rows", "read"),
    ("fhir_appointments", "GET /fhir/R4/Appointment?patient=..", "/rows", "read"),
]
# The reads measured again on a second HMS with the read cache off: computed from the database for every
# request, what a read costs right after a write (issue 21: >= 0.8x; issue 19's FHIR searches: 0.7x).
# Each is `<read>_computed`, with the read's path, caller and floor.
COMPUTED_KINDS = {
    "slots": "computed",
    "near": "computed",
    "hospital": "computed",
    "doctors": "computed",
    "availability": "computed",  # issue 20: by_bed_type included
    "stock": "computed",
    "banks": "computed",
    "dashboard_admin": "computed",
    "dashboard_patient": "computed",
    "appointments": "computed",
    "emergencies": "computed",
    "fhir_slots": "read_computed",
    "fhir_appointments": "read_computed",
}
_READS = {name: (label, floor) for name, label, floor, _kind in ENDPOINTS}
ENDPOINTS += [
    (f"{read}_computed", f"{_READS[read][0]} (read cache off)", _READS[read][1], kind)
    for read, kind in COMPUTED_KINDS.items()
]
# Issue 21's peer line: the seed-compatible list routes (hms/seed_urls.py; /auth/profile is the seed's own
# path) against the original implementation (its code is neither copied nor vendored here). Its req/s are
# constants: issue 21's measurement of the original on this machine (gunicorn -w 2, the same PostgreSQL,
# no Redis, wrk -t1 -c8, medians of 3 rounds). HMS serves them computed (on the server with the read cache
# off, like the `_computed` entries), as a patient, with as many rows as the original returned (page_size;
# bench/prepare.py builds the paths), and is held to PEER_TARGET times the original's req/s.
# name: (label, floor path, the original's req/s, what the original's answer held)
SEED_ROUTES = {
    "seed_hospitals": ("GET /hospital/all?page_size=10", "/rows", 511, "10 hospitals"),
    "seed_slots": ("GET /appointment/available-slots?hospital_id=..&page_size=50", "/rows", 435, "50 slots"),
    # Our default page (20 rows) against the original's 50: issue 21's second figure for the route.
    "seed_slots_page": ("GET /appointment/available-slots?hospital_id=.., default page", "/rows", 445, "50 slots"),
    "seed_banks": ("GET /bloodbank/all?page_size=5", "/rows", 1569, "5 banks"),
    "seed_profile": ("GET /auth/profile", "/auth", 1482, "the caller's account"),
}
PEER_RPS = {name: rps for name, (_label, _floor, rps, _rows) in SEED_ROUTES.items()}
PEER_TARGET = 2.0
ENDPOINTS += [
    (name, f"{label} (read cache off)", floor, "computed") for name, (label, floor, _rps, _rows) in SEED_ROUTES.items()
]
# The write mixes' material (bench/prepare.py) is sized for this many requests per second in every
# round, well above what HMS can do here (the floor's /auth: about 1,900): a mix that ran out of seats or
# waiting entries would measure its refusals instead.
WRITE_BUDGET = 3000
HOLD_SEATS = WRITE_BUDGET // 2 * SECONDS * ROUNDS  # one seat per pair (two requests)
CALL_ENTRIES = WRITE_BUDGET * SECONDS * ROUNDS
TARGETS = {"public": 0.7, "read": 0.7, "read_computed": 0.7, "computed": 0.8, "write": 0.5}
# Endpoints served by a second HMS with the read cache off, and the read each one repeats.
COMPUTED = {f"{read}_computed": read for read in COMPUTED_KINDS}
# Everything measured on that second HMS: the computed repeats and the seed routes (each its own read).
UNCACHED = {**COMPUTED, **{name: name for name in SEED_ROUTES}}
GROWTH = ["slots", "near", "availability", "stock", "dashboard_admin", "dashboard_patient"]


def say(message: str) -> None:
    print(message, flush=True)


def run(cmd: list[str], **kwargs) -> str:
    result = subprocess.run(cmd, check=True, text=True, capture_output=True, **kwargs)
    return result.stdout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def memory_kb(pid: int, field: str = "VmRSS") -> int:
    """A process's memory in KiB from /proc (VmRSS: resident now; VmHWM: its peak)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def server_env(secret_key: str, **extra: str) -> dict:
    """The environment of a one-database benchmark (bench/push.py, bench/export.py): production's settings
    without a .env file, answering on this machine's address, over bin/with-postgres's DATABASE_URL."""
    return {
        **os.environ,
        "SECRET_KEY": secret_key,
        "DEBUG": "false",
        "HMS_TESTING": "0",
        "HMS_ENV_FILE": "/dev/null",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        **extra,
    }


def django_setup(env: dict) -> None:
    """Django in this process, with `env` (as its servers get it; HMS_TESTING always from `env`)."""
    os.environ.update({key: value for key, value in env.items() if key not in os.environ or key == "HMS_TESTING"})
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hms.settings")
    import django

    django.setup()
