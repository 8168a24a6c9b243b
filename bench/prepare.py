"""Benchmark preparation inside Django (run by bench/bench.py with DATABASE_URL set).

Prints one JSON object: the ids the benchmarked URLs use, access tokens (issued directly, no bcrypt
login), the slots and patient tokens of the booking mix, and the SQL queries one request of each
endpoint costs (Django test client + CaptureQueriesContext, after warm-up requests), and each read
endpoint's median wall and CPU time for one request at a time in this process.

The write mixes of issue 18 get their material here too (skipped with --reads-only, as for the scale
0.01 database): bench/write_material.py picks the hold-then-book mix's slots and tops up call-next's
queues; this file adds the patients who hold and times a hold+book pair and a call-next alone.

    DATABASE_URL=... .venv/bin/python bench/prepare.py [--booking-patients N] [--booking-slots N]
        [--hold-seats N] [--call-entries N] [--reads-only]
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
from write_material import access, hold_material, queue_material  # noqa: E402

from accounts.models import User  # noqa: E402
from appointments.models import Appointment, Slot  # noqa: E402
from appointments.queue_models import QueueEntry  # noqa: E402
from bloodbank.models import BloodBank  # noqa: E402
from hospitals.models import Hospital  # noqa: E402


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


# The SQL of the last hold, booking from a hold and call-next, for a second look at what a write costs.
WRITE_SQL = ROOT / "bench" / ".data" / "write-sql.txt"
LAST_SQL: dict[str, list[str]] = {}


def post(client: Client, path: str, token: str, body: dict) -> tuple[int, dict, int]:
    """One POST through the test client: (status, JSON body, SQL queries it cost)."""
    with CaptureQueriesContext(connection) as captured:
        response = client.post(
            path, data=json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
        )
    LAST_SQL[path.rsplit("/", 1)[-1] if "/hold" in path or "call-next" in path else path] = [
        query["sql"] for query in captured.captured_queries
    ]
    return response.status_code, response.json(), len(captured.captured_queries)


def full_page_hospital(preferred: Hospital, now, rows: int = 50) -> int:
    """A hospital with at least `rows` bookable slots, for the seed's available-slots at page_size=50 (the
    original's 50 rows against as many): `preferred` when it has them, else the lowest id that does."""
    if Slot.objects.bookable(now).filter(hospital=preferred)[rows - 1 : rows].exists():
        return preferred.pk
    found = (
        Slot.objects.bookable(now)
        .values("hospital_id")
        .annotate(n=Count("pk"))
        .filter(n__gte=rows)
        .order_by("hospital_id")
        .values_list("hospital_id", flat=True)
        .first()
    )
    if found is None:
        sys.exit(f"prepare: no hospital has {rows} bookable slots (the seed's available-slots page)")
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--booking-patients", type=int, default=1000)
    parser.add_argument("--booking-slots", type=int, default=400)
    parser.add_argument("--samples", type=int, default=60, help="requests per endpoint timed one at a time")
    parser.add_argument("--hold-patients", type=int, default=1000)
    parser.add_argument("--hold-seats", type=int, default=20_000, help="free seats the hold-then-book mix may take")
    parser.add_argument("--call-queues", type=int, default=1000, help="queues call-next spreads over")
    parser.add_argument("--call-entries", type=int, default=40_000, help="waiting walk-ins across those queues")
    parser.add_argument("--write-samples", type=int, default=20, help="hold+book pairs and calls timed alone")
    parser.add_argument("--reads-only", action="store_true", help="no material for the write mixes")
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
    # The staff reader of the emergencies list: the hospital's (first) hospital admin.
    staff = User.objects.filter(role=User.Role.HOSPITAL_ADMIN, is_active=True, hospital=hospital).order_by("id").first()
    if staff is None:
        sys.exit("prepare: the benchmark hospital has no hospital admin (seed_demo --scale makes one)")
    tokens = {"admin": access(admin), "patient": access(patient), "staff": access(staff)}

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
    seed_hospital = full_page_hospital(hospital, now)
    reads = {
        "health": ("/health", None),
        "slots": (f"/api/v1/slots?available=true&hospital_id={hospital.pk}", "patient"),
        "near": (f"/api/v1/hospitals?near={near}", "patient"),
        "hospital": (f"/api/v1/hospitals/{hospital.pk}", "patient"),
        "doctors": (f"/api/v1/doctors?hospital_id={hospital.pk}", "patient"),
        "availability": (f"/api/v1/hospitals/{hospital.pk}/availability", "patient"),
        "stock": (f"/api/v1/blood-banks/{bank.pk}/stock", "patient"),
        "banks": ("/api/v1/blood-banks", "patient"),
        "dashboard_admin": ("/api/v1/dashboard", "admin"),
        "dashboard_patient": ("/api/v1/dashboard", "patient"),
        "appointments": ("/api/v1/appointments", "patient"),
        "emergencies": ("/api/v1/emergencies", "staff"),
        "fhir_slots": (
            f"/fhir/R4/Slot?schedule={schedule_id}&start=ge{local_today}&status=free",
            "patient",
        ),
        "fhir_appointments": (f"/fhir/R4/Appointment?patient={patient.pk}", "patient"),
        # Issue 21's peer line (bench/common.py, SEED_ROUTES): the seed's paths (hms/seed_urls.py), as
        # many rows as the original answered (10 hospitals, 50 slots, 5 banks) and the default slot page;
        # wrk measures them with the read cache off only. A patient calls them, as the other reads (the
        # lists are public: a token costs its user query, no cheaper than an anonymous call).
        "seed_hospitals": ("/hospital/all?page_size=10", "patient"),
        "seed_slots": (f"/appointment/available-slots?hospital_id={seed_hospital}&page_size=50", "patient"),
        "seed_slots_page": (f"/appointment/available-slots?hospital_id={seed_hospital}", "patient"),
        "seed_banks": ("/bloodbank/all?page_size=5", "patient"),
        "seed_profile": ("/auth/profile", "patient"),
    }
    client = Client(HTTP_HOST="127.0.0.1")
    queries, rows, single = {}, {}, {}
    bed_types = {}
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
        if name == "availability":  # issue 20: the bed types the answer counts (seed_demo gives them)
            bed_types = {kind: counts["total"] for kind, counts in body.get("by_bed_type", {}).items()}
        if isinstance(body, dict) and "count" in body:
            rows[name] = {"count": body["count"], "page": len(body["results"])}
        if name == "seed_slots" and rows[name]["page"] != 50:
            sys.exit(f"prepare: {path} answered {rows[name]['page']} rows, not the original's 50")
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

    material = {"hold_patients": [], "hold_slots": [], "hold_seats": 0, "call": {"queues": [], "staff_tokens": []}}
    if not args.reads_only:
        hold_slots, hold_seats = hold_material(args, rng, now, set(slots) | {spare})
        hold_patients = list(
            User.objects.filter(username__startswith="bench.p", role=User.Role.USER).order_by("username")[
                args.booking_patients + 1 : args.booking_patients + 1 + args.hold_patients
            ]
        )
        # Holds and the bookings from them (slots the mix does not use), one at a time: the pair's query
        # counts (hold + booking) and its wall and CPU time with nothing else in flight.
        taken = set(slots) | set(hold_slots) | {spare}
        taken |= set(  # the booker's own bookings (earlier runs made them): a hold there is refused
            Appointment.objects.filter(patient=booker, status__in=Appointment.ACTIVE).values_list("slot_id", flat=True)
        )
        spares = [pk for pk in candidates if pk not in taken][: args.write_samples]
        walls, cpus = [], []
        for spare_hold in spares:
            wall, cpu = time.perf_counter(), time.process_time()
            held, hold, hold_queries = post(client, f"/api/v1/slots/{spare_hold}/hold", booker_token, {})
            if held != 201:
                sys.exit(f"prepare: hold answered {held}: {hold!r}")
            booked, answer, book_queries = post(client, "/api/v1/appointments", booker_token, {"hold_id": hold["id"]})
            if booked != 201:
                sys.exit(f"prepare: booking from a hold answered {booked}: {answer!r}")
            walls.append((time.perf_counter() - wall) * 1000)
            cpus.append((time.process_time() - cpu) * 1000)
        queries["hold_book"] = f"{hold_queries} + {book_queries}"
        single["hold_book"] = {"wall_ms": statistics.median(walls), "cpu_ms": statistics.median(cpus)}
        call = queue_material(args, rng)
        if call["queues"]:
            walls, cpus = [], []
            for queue_id, staff in call["queues"][: args.write_samples]:  # one call each: the top-up covers it
                wall, cpu = time.perf_counter(), time.process_time()
                called, answer, call_queries = post(
                    client, f"/api/v1/queues/{queue_id}/call-next", call["staff_tokens"][staff], {"room": "Room 1"}
                )
                if called != 200:
                    sys.exit(f"prepare: call-next answered {called}: {answer!r}")
                walls.append((time.perf_counter() - wall) * 1000)
                cpus.append((time.process_time() - cpu) * 1000)
            queries["call_next"] = call_queries
            single["call_next"] = {"wall_ms": statistics.median(walls), "cpu_ms": statistics.median(cpus)}
        call["waiting"] = QueueEntry.objects.filter(
            queue_id__in=[pk for pk, _staff in call["queues"]], status=QueueEntry.Status.WAITING
        ).count()
        material = {
            "hold_patients": [[user.pk, access(user)] for user in hold_patients],
            "hold_slots": hold_slots,
            "hold_seats": hold_seats,
            "hold_since": timezone.now().isoformat(),
            "call": call,
        }

    if LAST_SQL:
        WRITE_SQL.parent.mkdir(parents=True, exist_ok=True)
        WRITE_SQL.write_text(
            "".join(
                f"== POST {name}: {len(sql)} queries\n" + "".join(f"{q}\n" for q in sql)
                for name, sql in LAST_SQL.items()
            )
        )
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
            **material,
            "bed_types": bed_types,
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
