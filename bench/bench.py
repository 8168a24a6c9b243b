"""HMS benchmarks against the floor (../shared/floor/floor.py), run by `make bench` via bench/run.sh.

Inside bin/with-postgres (DATABASE_URL, PGHOST, PGPORT set): migrates and seeds the `hms` database at
--scale 1 and `hms_small` at --scale 0.01 (both reused when present), sets up the floor database,
serves HMS through deploy/entrypoint.sh (gunicorn, 2 workers, like the floor) and the floor with
gunicorn -w 2, and measures each endpoint with wrk (-t1 -c8 -d10s --latency), alternating floor and
HMS three times. Prints the table and prepends it to bench/RESULTS.md.

    bench/run.sh                      # what `make bench` runs
    BENCH_SECONDS=3 BENCH_ROUNDS=1 bench/run.sh   # a quick smoke run
    BENCH_NOTE="before the index" bench/run.sh   # a note in the section heading
    BENCH_ONLY=availability,stock bench/run.sh    # only these endpoints, nothing written
    BENCH_SCALE=0.01 PG_KEEP_DIR=/tmp/pg-small BENCH_ONLY=hold_book bench/run.sh  # small data, own dir
    BENCH_AUDIT_CHAIN=off BENCH_ONLY=booking bench/run.sh   # the writes without the audit hash chain

The write mixes: the booking mix, hold then book from the hold, and call-next over many queues (issue
18); after them the overbooking check (booked + active holds against capacity, in SQL over every slot)
and whether each call-next answered 200 moved exactly one waiting entry. `availability_computed` repeats
the availability read (by_bed_type included, issue 20) on a second HMS with the read cache off. The
seed routes (`seed_*`, issue 21's peer line) run there too, and are also compared with the original's
req/s (constants in common.py): BENCH_ONLY=seed_hospitals,seed_slots,seed_slots_page,seed_banks,seed_profile.

This file runs the steps; common.py holds the endpoints and their targets, servers.py the databases and
servers, measure.py the wrk runs, report.py the results table. prepare.py and profile.py run inside
Django.
"""

import os
import statistics
import sys
import time

from common import BENCH, DATA, ENDPOINTS, GROWTH, ROUNDS, SCALE, SECONDS, UNCACHED, say
from measure import (
    call_next_report,
    hold_book_report,
    measure_pairs,
    median,
    overbooking_report,
    summarize,
    worker_rss_mb,
    wrk,
)
from report import failures, machine, notes_text, peer_lines, render, write_results
from servers import PROCESSES, prepare, psql, seed, setup_floor, start_floor, start_hms, start_redis, stop

# BENCH_AUDIT_CHAIN=off: the audit log's hash-chain trigger disabled for the run (re-enabled at the end), to
# measure what the chain costs a write (issue 22: the booking ratio before and after). Entries written
# meanwhile have no chain position: a bench database only.
AUDIT_CHAIN_TRIGGER = "pgtrigger_activity_hash_chain_a886e"


def main() -> None:
    started = time.monotonic()
    load_at_start = os.getloadavg()[0]
    DATA.mkdir(parents=True, exist_ok=True)
    info = machine()
    start_redis()
    seed("hms", SCALE)
    only = [name for name in os.environ.get("BENCH_ONLY", "").split(",") if name]
    if not only:
        seed("hms_small", "0.01")
    floor_token = setup_floor()
    data = prepare("hms")

    chain_off = os.environ.get("BENCH_AUDIT_CHAIN") == "off"
    if chain_off and not only:
        sys.exit("bench: BENCH_AUDIT_CHAIN=off is for a BENCH_ONLY comparison, not for bench/RESULTS.md")
    if chain_off:
        say(f"  audit hash chain OFF for this run (trigger {AUDIT_CHAIN_TRIGGER} disabled)")
        psql(f"ALTER TABLE accounts_activity DISABLE TRIGGER {AUDIT_CHAIN_TRIGGER}", database="hms")
    try:
        run(started, load_at_start, info, only, floor_token, data)
    finally:
        if chain_off:
            psql(f"ALTER TABLE accounts_activity ENABLE TRIGGER {AUDIT_CHAIN_TRIGGER}", database="hms")


def run(started: float, load_at_start: float, info: dict, only: list[str], floor_token: str, data: dict) -> None:
    say(f"\nMeasuring HMS (scale {SCALE}) against the floor: {ROUNDS} x {SECONDS}s per side and endpoint")
    floor, floor_port = start_floor()
    hms, hms_port = start_hms("hms")
    names = only or [name for name, *_rest in ENDPOINTS]
    results = measure_pairs(hms_port, floor_port, data, floor_token, [n for n in names if n not in UNCACHED])
    rss = worker_rss_mb(hms)
    stop(hms)
    if any(name in UNCACHED for name in names):
        # The same reads computed from the database every time (issue 20's availability "computed"), and
        # the seed routes of issue 21's peer line: a server with the read cache off.
        say("  (read cache off: READ_CACHE_SECONDS=0 DASHBOARD_CACHE_SECONDS=0)")
        for name, read in UNCACHED.items():
            data["paths"][name], data["auth"][name] = data["paths"][read], data["auth"][read]
            for key in ("queries", "single"):
                if read in data[f"computed_{key}"]:
                    data[key][name] = data[f"computed_{key}"][read]
        uncached, uncached_port = start_hms("hms", READ_CACHE_SECONDS="0", DASHBOARD_CACHE_SECONDS="0")
        results.update(measure_pairs(uncached_port, floor_port, data, floor_token, [n for n in names if n in UNCACHED]))
        stop(uncached)
    overbooking = overbooking_report()
    checks = {
        "hold_book": hold_book_report(data) if "hold_book" in results else None,
        "call_next": call_next_report(data) if "call_next" in results else None,
    }
    if only:  # a quick look while working on some endpoints: nothing is written
        stop(floor)
        rows = summarize(results, data)
        say("\n" + "\n".join(line for line in notes_text(rows, overbooking, checks)))
        if peer := peer_lines(rows, data):
            say("\n" + "\n".join(peer))
        for name in results:
            alone = data["single"].get(name)
            say(
                f"- {name}: SQL/req {data['queries'].get(name, '-')}"
                + (
                    f"; alone (test client) wall {alone['wall_ms']:.2f} ms, CPU {alone['cpu_ms']:.2f} ms"
                    if alone
                    else ""
                )
            )
        say(
            f"\nBENCH_ONLY={','.join(only)}: median ratios "
            + ", ".join(
                f"{name} {statistics.median(run['ratio'] for run in runs):.2f}" for name, runs in results.items()
            )
            + f"; load average (1 min) {load_at_start:.1f} at start, {os.getloadavg()[0]:.1f} at end"
        )
        if failed := failures(rows, overbooking, checks):
            sys.exit("bench: CHECK FAILED: " + "; ".join(failed))
        return
    small = prepare("hms_small", writes=False)
    stop(floor)

    say(f"\nGrowth: the read endpoints at scale 0.01 ({ROUNDS} x {SECONDS}s each)")
    small_server, small_port = start_hms("hms_small")
    growth = {}
    for name in GROWTH:
        who = small["auth"][name]
        p50s = [wrk(small_port, small["paths"][name], token=small["tokens"][who])["p50"] for _ in range(ROUNDS)]
        large = median(results[name], "hms", "p50")
        growth[name] = (statistics.median(p50s), large)
        say(f"  {name:<20} p50 {growth[name][0]:6.2f} ms at 0.01, {large:6.2f} ms at 1")
    stop(small_server)

    rows = summarize(results, data)
    load = (load_at_start, os.getloadavg()[0])
    section = render(rows, growth, rss, overbooking, checks, data, small, info, time.monotonic() - started, load)
    write_results(section)
    say("\n" + section)
    say(f"Written to {BENCH / 'RESULTS.md'}")
    if failed := failures(rows, overbooking, checks):
        sys.exit("bench: CHECK FAILED: " + "; ".join(failed))


if __name__ == "__main__":
    try:
        main()
    finally:
        for process in list(PROCESSES):
            stop(process)
