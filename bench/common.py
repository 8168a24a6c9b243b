"""What every part of the benchmark shares: paths, run lengths, the endpoints and their targets."""

import os
import subprocess
from pathlib import Path

# ruff: noqa: S603, S607 - runs this machine's own servers, wrk and the project's venv only.
ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
DATA = BENCH / ".data"
RAW = DATA / "raw"  # every wrk output, for a second look
PY = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
CONNECTIONS = 8
WORKERS = 2
SECRET_KEY = "bench-only-not-a-secret-" + "x" * 40

# name, label, floor path, kind (read endpoints are held to 0.7x, the booking mix to 0.5x)
ENDPOINTS = [
    ("health", "GET /health", "/public", "public"),
    ("slots", "GET /api/v1/slots?available=true&hospital_id=..", "/rows", "read"),
    ("near", "GET /api/v1/hospitals?near=..", "/rows", "read"),
    ("availability", "GET /api/v1/hospitals/{id}/availability", "/auth", "read"),
    ("stock", "GET /api/v1/blood-banks/{id}/stock", "/auth", "read"),
    ("dashboard_admin", "GET /api/v1/dashboard (admin)", "/auth", "read"),
    ("dashboard_patient", "GET /api/v1/dashboard (patient)", "/auth", "read"),
    ("booking", "POST /api/v1/appointments (booking mix)", "/auth", "write"),
    # FHIR R4 (issue 19): a schedule's free slots from today, a patient's appointments.
    ("fhir_slots", "GET /fhir/R4/Slot?schedule=..&start=ge..&status=free", "/rows", "read"),
    ("fhir_appointments", "GET /fhir/R4/Appointment?patient=..", "/rows", "read"),
]
TARGETS = {"public": 0.7, "read": 0.7, "write": 0.5}
GROWTH = ["slots", "near", "availability", "stock", "dashboard_admin", "dashboard_patient"]


def say(message: str) -> None:
    print(message, flush=True)


def run(cmd: list[str], **kwargs) -> str:
    result = subprocess.run(cmd, check=True, text=True, capture_output=True, **kwargs)
    return result.stdout
