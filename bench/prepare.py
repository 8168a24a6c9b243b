"""Benchmark preparation inside Django (run by bench/bench.py with DATABASE_URL set).

Prints one JSON object: the ids the benchmarked URLs use, access tokens (issued directly, no bcrypt
login), the slots and patient tokens of the booking mix, and the SQL queries one request of each
endpoint costs (Django test client + CaptureQueriesContext, after warm-up requests), and each read
endpoint's median wall and CPU time for one request at a time in this process.

    DATABASE_URL=... .venv/bin/python bench/prepare.py [--booking-patients N] [--booking-slots N]
"""

import argparse
import json
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hms.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.db.models import Count, Q  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import User  # noqa: E402
from accounts.tokens import tokens_issue  # noqa: E402
from appointments.models import Appointment, Slot  # noqa: E402
from bloodbank.models import BloodBank  # noqa: E402
from hospitals.models import Hospital  # noqa: E402


def access(user: User) -> str:
    return tokens_issue(user=user)["access"]


def one_at_a_time(client: Client, path: str, headers: dict, samples: int) -> dict:
    """Median wall and CPU milliseconds of one request with nothing else in flight (test client, no HTTP).

    Far steadier than wrk on a shared machine: CPU time ignores other processes, and the wall time has
    no queueing in it, so it shows what the data size costs a request (the growth check).
    """
    walls, cpus = [], []
    for _ in range(samples):
        wall, cpu = time.perf_counter(), time.process_time()
        client.get(path, **headers)
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return {"wall_ms": statistics.median(walls), "cpu_ms": statistics.median(cpus)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--booking-patients", type=int, default=1000)
    parser.add_argument("--booking-slots", type=int, default=400)
    parser.add_argument("--samples", type=int, default=60, help="requests per endpoint timed one at a time")
    args = parser.parse_args()
    rng = random.Random(2026)

    hospital = Hospital.objects.filter(registration_number__startswith="BENCH-H0001").order_by("id").first()
    if hospital is None:
        sys.exit("prepare: no benchmark data (run seed_demo --scale N first)")
    bank = BloodBank.objects.filter(hospital=hospital).order_by("id").first()
    admin = User.objects.filter(role=User.Role.ADMIN, is_active=True).order_by("id").first()
    now = timezone.now()
    # The dashboard patient: a bench patient with upcoming bookings (as most of them have).
    patient = (
        User.objects.filter(username__startswith="bench.p", role=User.Role.USER)
        .annotate(
            upcoming=Count(
                "appointments",
                filter=Q(appointments__status__in=Appointment.ACTIVE, appointments__slot__start__gte=now),
            )
        )
        .filter(upcoming__gt=0)
        .order_by("username")
        .first()
    )
    patients = list(
        User.objects.filter(username__startswith="bench.p", role=User.Role.USER).order_by("username")[
            1 : args.booking_patients + 1
        ]
    )
    # Slots of the benchmark hospitals that start no sooner than tomorrow (none starts during the run).
    candidates = list(
        Slot.objects.bookable()
        .filter(hospital__registration_number__startswith="BENCH-", start__gte=now + timedelta(days=1))
        .values_list("pk", flat=True)[:200_000]
    )
    slots = rng.sample(candidates, min(args.booking_slots, len(candidates)))
    tokens = {"admin": access(admin), "patient": access(patient)}

    near = f"{hospital.latitude},{hospital.longitude}"
    # FHIR: the OPD schedule of the hospital's first bookable slot, searched from the hospital's today.
    schedule_id = (
        Slot.objects.bookable()
        .filter(hospital=hospital, opd_schedule__isnull=False)
        .order_by("start")
        .values_list("opd_schedule_id", flat=True)
        .first()
    )
    local_today = now.astimezone(ZoneInfo(hospital.timezone)).date()
    reads = {
        "health": ("/health", None),
        "slots": (f"/api/v1/slots?available=true&hospital_id={hospital.pk}", "patient"),
        "near": (f"/api/v1/hospitals?near={near}", "patient"),
        "availability": (f"/api/v1/hospitals/{hospital.pk}/availability", "patient"),
        "stock": (f"/api/v1/blood-banks/{bank.pk}/stock", "patient"),
        "dashboard_admin": ("/api/v1/dashboard", "admin"),
        "dashboard_patient": ("/api/v1/dashboard", "patient"),
        "fhir_slots": (
            f"/fhir/R4/Slot?schedule={schedule_id}&start=ge{local_today}&status=free",
            "patient",
        ),
        "fhir_appointments": (f"/fhir/R4/Appointment?patient={patient.pk}", "patient"),
    }
    client = Client(HTTP_HOST="127.0.0.1")
    queries, rows, single = {}, {}, {}
    computed_queries, computed_single = {}, {}
    for name, (path, who) in reads.items():
        headers = {"HTTP_AUTHORIZATION": f"Bearer {tokens[who]}"} if who else {}
        for _ in range(5):
            client.get(path, **headers)  # warm-up
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path, **headers)
        if response.status_code != 200:
            sys.exit(f"prepare: {path} answered {response.status_code}: {response.content[:300]!r}")
        queries[name] = len(captured.captured_queries)
        body = response.json()
        if isinstance(body, dict) and "count" in body:
            rows[name] = {"count": body["count"], "page": len(body["results"])}
        single[name] = one_at_a_time(client, path, headers, args.samples)
        # The same request computed from the database every time (what a read costs right after a write,
        # and what the data size can change: the growth check uses it).
        with override_settings(READ_CACHE_SECONDS=0, DASHBOARD_CACHE_SECONDS=0):
            client.get(path, **headers)
            with CaptureQueriesContext(connection) as captured:
                client.get(path, **headers)
            computed_queries[name] = len(captured.captured_queries)
            computed_single[name] = one_at_a_time(client, path, headers, args.samples)

    # One real booking (a patient and slot the mix does not use) for the booking's query count.
    booker = User.objects.filter(username__startswith="bench.p", role=User.Role.USER).order_by("-username").first()
    spare = next(pk for pk in candidates if pk not in set(slots))
    booker_token = access(booker)  # issuing it writes the outstanding-token row: not the booking's query
    with CaptureQueriesContext(connection) as captured:
        response = client.post(
            "/api/v1/appointments",
            data=json.dumps({"slot_id": spare}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {booker_token}",
        )
    if response.status_code not in (201, 409):
        sys.exit(f"prepare: booking answered {response.status_code}: {response.content[:300]!r}")
    queries["booking"] = len(captured.captured_queries)

    json.dump(
        {
            "hospital_id": hospital.pk,
            "bank_id": bank.pk,
            "near": near,
            "paths": {name: path for name, (path, _who) in reads.items()},
            "auth": {name: who for name, (_path, who) in reads.items()},
            "tokens": tokens,
            "booking_tokens": [access(user) for user in patients],
            "booking_slots": slots,
            "queries": queries,
            "single": single,
            "computed_queries": computed_queries,
            "computed_single": computed_single,
            "rows": rows,
            "sizes": {
                "hospitals": Hospital.objects.count(),
                "slots": Slot.objects.count(),
                "appointments": Appointment.objects.count(),
                "users": User.objects.count(),
            },
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
