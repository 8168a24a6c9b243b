"""`make bench-mixed`: reads over random hospitals while bookings and cancellations run (issue 16).

Inside bin/with-postgres (the Makefile keeps its data dir in bench/.data/pg-mixed): seeds the
`hms_mixed` database at --scale 0.1 (reused when present), sets up the floor, starts Redis (the read
cache on, as in production), HMS through deploy/entrypoint.sh (gunicorn, 2 workers) and the floor.
For each read (slot list, hospital detail, availability, stock, hospital list) wrk (-t1 -c8, a Lua
script picking a random hospital, bank or page per request) measures HMS in three columns: no
writes, and bookings plus cancellations through the REST API at 10/s and at 50/s (random patients,
random bookable slots of random hospitals; a fixed rate, timed by the writer itself). The floor's
matching route is measured once per read and round, with no writes, right before the three HMS runs:
a ratio thus charges HMS both for what a write invalidates and for the CPU the writes take.
Prints the table and prepends it to bench/RESULTS.md.

    make bench-mixed
    BENCH_SECONDS=3 BENCH_ROUNDS=1 make bench-mixed     # a quick smoke run
    MIXED_RATES=10,50,100 BENCH_NOTE="..." make bench-mixed

`bench/mixed.py prepare` runs inside Django (the ids, paths and tokens, printed as JSON).
"""

import json
import math
import os
import random
import shutil
import signal
import statistics
import sys
import time
from collections import Counter
from datetime import timedelta

# ruff: noqa: S310, S311 - this machine's own servers; random picks for load, not for secrets.
from common import BENCH, DATA, PY, ROOT, SECONDS, run, say
from mixed_writer import CANCEL_SHARE, Writer  # bench/mixed_writer.py: the bookings and cancellations

DATABASE = "hms_mixed"
SCALE = "0.1"
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
RATES = [0.0] + [float(rate) for rate in os.environ.get("MIXED_RATES", "10,50").split(",") if rate]
TARGET = 0.8
SLOT_PAGES = 5  # the slot list asks for one of a hospital's first pages
PATIENTS = 500
SLOTS_PER_HOSPITAL = 300

# name, label, floor route (as bench/common.py pairs them: lists with /rows, the rest with /auth)
READS = [
    ("slots", "GET /api/v1/slots?available=true&hospital_id=..&page=..", "/rows"),
    ("detail", "GET /api/v1/hospitals/{id}", "/auth"),
    ("availability", "GET /api/v1/hospitals/{id}/availability", "/auth"),
    ("stock", "GET /api/v1/blood-banks/{id}/stock", "/auth"),
    ("hospitals", "GET /api/v1/hospitals?page=..", "/rows"),
]


# --- Inside Django: what the reads and the writer use -----------------------------------------


def prepare_inside_django() -> None:
    import prepare  # sets Django up (bench/prepare.py); its access() issues tokens without a login
    from django.test import Client
    from django.utils import timezone

    from accounts.models import User
    from appointments.models import Appointment, Slot
    from bloodbank.models import BloodBank
    from hospitals.models import Hospital

    rng = random.Random(2026)
    now = timezone.now()
    hospitals = list(Hospital.objects.filter(is_active=True).order_by("id").values_list("id", flat=True))
    banks = list(BloodBank.objects.filter(hospital__is_active=True).order_by("id").values_list("id", flat=True))
    paths = {"slots": [], "detail": [], "availability": [], "stock": [], "hospitals": []}
    booking_slots = {}
    for hospital in hospitals:
        bookable = Slot.objects.bookable().filter(hospital_id=hospital)
        # Whole pages only, so a page never falls past the end while bookings fill slots.
        pages = max(1, min(SLOT_PAGES, bookable.count() // 20))
        paths["slots"] += [f"/api/v1/slots?available=true&hospital_id={hospital}&page={n}" for n in range(1, pages + 1)]
        paths["detail"].append(f"/api/v1/hospitals/{hospital}")
        paths["availability"].append(f"/api/v1/hospitals/{hospital}/availability")
        # Slots that start no sooner than tomorrow (none starts during the run).
        candidates = list(bookable.filter(start__gte=now + timedelta(days=1)).values_list("pk", flat=True)[:5000])
        if candidates:
            booking_slots[hospital] = rng.sample(candidates, min(SLOTS_PER_HOSPITAL, len(candidates)))
    paths["stock"] = [f"/api/v1/blood-banks/{bank}/stock" for bank in banks]
    paths["hospitals"] = [f"/api/v1/hospitals?page={n}" for n in range(1, math.ceil(len(hospitals) / 20) + 1)]

    patients = User.objects.filter(username__startswith="bench.p", role=User.Role.USER, is_active=True)
    reader, *bookers = patients.order_by("username")[: PATIENTS + 1]
    token = prepare.access(reader)
    client = Client(HTTP_HOST="127.0.0.1")
    refused = {}
    for name, found in paths.items():
        for path in found:
            status = client.get(path, HTTP_AUTHORIZATION=f"Bearer {token}").status_code
            if status != 200:
                refused[path] = status
        paths[name] = [path for path in found if path not in refused]
    json.dump(
        {
            "paths": paths,
            "refused": refused,
            "token": token,
            "booking_tokens": [prepare.access(user) for user in bookers],
            "booking_slots": booking_slots,
            "sizes": {
                "hospitals": len(hospitals),
                "banks": len(banks),
                "slots": Slot.objects.count(),
                "appointments": Appointment.objects.count(),
                "users": User.objects.count(),
            },
        },
        sys.stdout,
    )


# --- The reads: wrk picking a random path per request -------------------------------------------


def random_path_script(name: str, paths: list[str]) -> str:
    script = DATA / f"mixed-{name}.lua"
    listed = ",\n".join(f'  "{path}"' for path in paths)
    script.write_text(
        f"""-- {name}: each request a random one of these paths (the -H headers go with it).
local paths = {{
{listed}
}}

function init(args)
  math.randomseed(os.time())
end

function request()
  return wrk.format(nil, paths[math.random(#paths)])
end
"""
    )
    return script


# --- The run -------------------------------------------------------------------------------------


def measure(hms_port: int, floor_port: int, data: dict, floor_token: str) -> dict:
    from measure import wrk

    results = {name: [] for name, *_rest in READS}
    for _round in range(ROUNDS):
        for name, label, floor_path in READS:
            paths = data["paths"][name]
            script = random_path_script(name, paths)
            floor = wrk(floor_port, floor_path, token=floor_token)
            line = f"  {label:<58} floor {floor_path:<5} {floor['rps']:6.0f} req/s"
            runs = {"floor": floor, "columns": []}
            for rate in RATES:
                writer = Writer(hms_port, data, rate).start()
                hms = wrk(hms_port, paths[0], token=data["token"], script=script)
                writes = writer.stop()
                ratio = hms["rps"] / floor["rps"] if floor["rps"] else 0.0
                runs["columns"].append({"hms": hms, "writes": writes, "ratio": ratio})
                achieved = f" ({writes['achieved']:.1f}/s done)" if rate else ""
                line += f" | {rate:g} w/s{achieved}: {hms['rps']:6.0f} req/s {ratio:.2f}"
            say(line)
            results[name].append(runs)
    return results


def cell(value: float, digits: int = 2) -> str:
    return "-" if value != value else f"{value:.{digits}f}"  # NaN -> "-"


def render(results: dict, data: dict, info: dict, elapsed: float, load: tuple, overbooking: dict) -> str:
    from report import machine_text, run_text, title

    columns = ["no writes" if rate == 0 else f"{rate:g} writes/s" for rate in RATES]
    sizes = data["sizes"]
    lines = [
        title(": mixed load, `make bench-mixed`"),
        "",
        machine_text(info, " with the read cache on")
        + " with a Lua script that picks a random path per request. Per read and round: the floor (no writes), "
        f"then HMS in each column; {ROUNDS} rounds, medians (ratio: median of the per-round ratios HMS/floor req/s).",
        f"Data (scale {SCALE}): {sizes['hospitals']} hospitals, {sizes['banks']} blood banks, "
        f"{sizes['slots']:,} slots, {sizes['appointments']:,} appointments, {sizes['users']:,} users. "
        + run_text(elapsed, load, info),
        "",
        "| Read (paths picked at random) | floor | floor req/s | "
        + " | ".join(f"{column}: req/s | p50 / p99 ms | ratio" for column in columns)
        + " |",
        "|---|---|---:|" + "---:|---:|---:|" * len(RATES),
    ]
    notes = []
    for name, label, floor_path in READS:
        runs = results[name]
        row = [
            f"{label} ({len(data['paths'][name])} path{'s' if len(data['paths'][name]) != 1 else ''})",
            f"`{floor_path}`",
            f"{statistics.median(run['floor']['rps'] for run in runs):.0f}",
        ]
        for index in range(len(RATES)):
            taken = [run["columns"][index] for run in runs]
            ratio = statistics.median(column["ratio"] for column in taken)
            p50 = statistics.median(column["hms"]["p50"] for column in taken)
            p99 = statistics.median(column["hms"]["p99"] for column in taken)
            met = "ok" if ratio >= TARGET else "**below**"
            row += [
                f"{statistics.median(column['hms']['rps'] for column in taken):.0f}",
                f"{cell(p50)} / {cell(p99)}",
                f"{ratio:.2f} {met}",
            ]
            bad = sum(column["hms"]["non_2xx"] for column in taken)
            if bad:
                notes.append(f"- {label}, {RATES[index]:g} writes/s: {bad} non-2xx responses (unexpected).")
        lines.append("| " + " | ".join(row) + " |")
    lines += [
        "",
        f"Target: each read >= {TARGET}x its floor in every column. The writes, over all reads' runs of a "
        "column (bookings of random bookable slots of random hospitals by random patients; "
        f"{CANCEL_SHARE:.0%} of the writes cancel one of the run's own bookings; done /s: median over the runs):",
        "",
        "| Writes | asked /s | done /s | bookings 201 / 409 | cancellations 200 / 409 | other | write p50 / p99 ms |",
        "|---|---:|---:|---:|---:|---|---:|",
    ]
    for index, rate in enumerate(RATES[1:], start=1):
        taken = [run["columns"][index]["writes"] for runs in results.values() for run in runs]
        counts: Counter = Counter()
        for writes in taken:
            counts.update(writes["counts"])
        done = statistics.median(writes["achieved"] for writes in taken)
        refusals: Counter = Counter()
        for writes in taken:
            refusals.update(writes["refusals"])
        if refusals:
            refused = ", ".join(f"{key} {count}" for key, count in refusals.most_common())
            notes.append(f"- 409s at {rate:g} writes/s, by code: {refused}.")
        other = {key: count for key, count in counts.items() if key.split()[1] not in ("200", "201", "409")}
        other_text = ", ".join(f"{key}: {count}" for key, count in sorted(other.items())) or "0"
        lines.append(
            f"| {columns[index]} | {rate:g} | {done:.1f} | {counts['book 201']} / {counts['book 409']} | "
            f"{counts['cancel 200']} / {counts['cancel 409']} | {other_text} | "
            f"{cell(statistics.median(writes['p50'] for writes in taken), 1)} / "
            f"{cell(statistics.median(writes['p99'] for writes in taken), 1)} |"
        )
    lines.append("")
    if data["refused"]:
        notes.append(f"- Paths left out (not 200 when prepared): {data['refused']}.")
    notes.append(
        f"- Overbooking after the run (SQL over every slot): {overbooking['over_capacity']} slots over capacity, "
        f"{overbooking['booked_mismatch']} slots whose `booked` differs from their non-cancelled appointments, "
        f"{overbooking['duplicate_tokens']} duplicate tokens."
    )
    notes.append(
        f"- Paths: the slot list takes one of each hospital's first {SLOT_PAGES} whole pages of bookable slots; "
        "the hospital list one of its pages of 20 "
        f"({len(data['paths']['hospitals'])} at this scale); detail and availability any active hospital; stock "
        "any blood bank. Every read as a patient (Bearer token), as `make bench` does."
    )
    notes.append(
        "- The floor runs with no writes; in the write columns the writes run only while HMS is measured, on "
        "the same two HMS workers as the reads, so a ratio counts the writes' CPU as well as what they invalidate."
    )
    return "\n".join(lines + notes) + "\n"


def main() -> None:
    from measure import overbooking_report
    from report import machine, write_results
    from servers import hms_env, seed, setup_floor, start_floor, start_hms, start_redis, stop

    missing = [tool for tool in ("wrk", "redis-server") if not shutil.which(tool)]
    if missing:
        sys.exit(f"bench-mixed: {' and '.join(missing)} missing (`make bench` installs Debian's wrk and redis-server)")
    started = time.monotonic()
    load_at_start = os.getloadavg()[0]
    DATA.mkdir(parents=True, exist_ok=True)
    info = machine()
    start_redis()
    seed(DATABASE, SCALE)
    floor_token = setup_floor()
    data = json.loads(run([PY, __file__, "prepare"], cwd=ROOT, env=hms_env(DATABASE)))
    runs = len(READS) * ROUNDS * (1 + len(RATES))
    say(
        f"\nMixed load at scale {SCALE}: {len(READS)} reads x {ROUNDS} rounds x (floor + {len(RATES)} columns) "
        f"x {SECONDS}s = about {runs * (SECONDS + 1) / 60:.1f} min"
    )
    floor, floor_port = start_floor()
    hms, hms_port = start_hms(DATABASE)
    results = measure(hms_port, floor_port, data, floor_token)
    stop(hms)
    stop(floor)
    overbooking = overbooking_report(DATABASE)
    load = (load_at_start, os.getloadavg()[0])
    section = render(results, data, info, time.monotonic() - started, load, overbooking)
    write_results(section)
    say("\n" + section)
    say(f"Written to {BENCH / 'RESULTS.md'}")
    if any(overbooking.values()):
        sys.exit("bench-mixed: OVERBOOKING FOUND")


def stop_on_term(signum, frame):
    raise SystemExit(f"bench-mixed: stopped by signal {signum}")


if __name__ == "__main__":
    if sys.argv[1:] == ["prepare"]:
        prepare_inside_django()
        sys.exit(0)
    from servers import PROCESSES, stop

    signal.signal(signal.SIGTERM, stop_on_term)  # `timeout` in the Makefile: servers are still stopped
    try:
        main()
    finally:
        for process in list(PROCESSES):
            stop(process)
