"""The results: the machine, the table and notes in Markdown, prepended to bench/RESULTS.md."""

import os
import platform
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

# ruff: noqa: S603, S607 - runs this machine's own servers, wrk and the project's venv only.
from common import BENCH, CONNECTIONS, ENDPOINTS, PEER_TARGET, ROOT, ROUNDS, SECONDS, SEED_ROUTES, WORKERS, run
from servers import psql


def machine() -> dict:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1)) // 1024
    pg = psql("SHOW server_version")[0][0]
    return {
        "nproc": os.cpu_count(),
        "memory_mb": memory,
        "cpu": cpu,
        "python": platform.python_version(),
        "postgresql": pg,
        "wrk": subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.split(" [")[0],
        "redis": subprocess.run(["redis-server", "--version"], capture_output=True, text=True)
        .stdout.split()[2]
        .removeprefix("v="),
    }


def git_revision() -> str:
    try:
        dirty = run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT).strip()
        return run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT).strip() + (" + local changes" if dirty else "")
    except (subprocess.CalledProcessError, FileNotFoundError):
        return "unknown"


def title(what: str = "") -> str:
    """A section's title: now, the commit, what ran (`what`, e.g. ": mixed load") and BENCH_NOTE."""
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    note = f": {os.environ['BENCH_NOTE']}" if os.environ.get("BENCH_NOTE") else ""
    return f"## {now} (commit {git_revision()}){what}{note}"


def machine_text(info: dict, cache: str) -> str:
    """The machine, the versions, the servers and wrk's shape (`cache`: what the read cache does)."""
    return (
        f"Machine: {info['nproc']} CPUs ({info['cpu']}), {info['memory_mb'] / 1024:.1f} GiB RAM; Python "
        f"{info['python']}, PostgreSQL {info['postgresql']} (fsync off, throwaway), Redis {info['redis']} "
        f"as the shared cache{cache} (as in compose.yaml), {info['wrk']}. gunicorn sync, "
        f"{WORKERS} workers for HMS and for the floor; wrk -t1 -c{CONNECTIONS} -d{SECONDS}s"
    )


def run_text(elapsed: float, load: tuple, info: dict) -> str:
    """How long the run took and how busy the machine was at its start and end."""
    return (
        f"Whole run {elapsed / 60:.1f} min. Load average (1 min) at start and end: {load[0]:.1f}, {load[1]:.1f} (on "
        f"{info['nproc']} cores; above ~1.5 means other processes shared the machine: compare ratios, not absolutes)."
    )


def write_mix_notes(rows, checks) -> list[str]:
    """The write mixes' answers, and for call-next whether every 200 moved exactly one entry."""
    notes = []
    for row in rows:
        statuses = row.get("statuses", {})
        codes = ", ".join(f"{code}: {count}" for code, count in sorted(row.get("codes", {}).items()))
        refusals = f" Refusals by status and code: {codes}." if codes else ""
        if row["name"] == "booking":
            text = ", ".join(f"{status}: {count}" for status, count in sorted(statuses.items()))
            notes.append(f"- Booking mix responses ({ROUNDS} runs): {text}.{refusals}")
        elif row["name"] == "hold_book":
            holds, booked = int(statuses.get("holds", 0)), int(statuses.get("booked", 0))
            used = (checks.get("hold_book") or {}) if checks else {}
            notes.append(
                f"- Hold then book ({ROUNDS} runs, req/s counts holds and bookings alike): {holds} holds (201), "
                f"{booked} bookings from them (201): {booked / (ROUNDS * SECONDS):.0f} completed pairs/s; "
                f"409: {statuses.get('409', 0)}, other: {statuses.get('other', 0)}.{refusals} Holds the mix left "
                f"on its slots, by status (SQL): {', '.join(f'{k} {v}' for k, v in sorted(used.items())) or '-'} "
                "(active: still waiting for their booking when a run ended; they keep their seats until they lapse). "
                "Its SQL/req and alone columns are for a pair: the hold + the booking from it."
            )
        elif row["name"] == "call_next":
            called = int(statuses.get("200", 0))
            check = (checks.get("call_next") or {}) if checks else {}
            moved = check.get("called")
            verdict = "ok: none called twice" if moved is not None and called <= moved else "**mismatch**"
            notes.append(
                f"- call-next ({ROUNDS} runs): {called} called (200), {statuses.get('409', 0)} 409, "
                f"{statuses.get('other', 0)} other.{refusals} Waiting entries in the benchmark queues "
                f"(SQL): {check.get('before')} before, {check.get('after')} after, so {moved} left `waiting` "
                f"(wrk does not count answers still in flight when a run ends: up to {CONNECTIONS} a run): "
                f"{verdict}; {check.get('duplicate_tokens')} duplicate walk-in tokens."
            )
        elif row["non_2xx"]:
            notes.append(f"- {row['label']}: {row['non_2xx']} non-2xx responses (unexpected).")
    return notes


def failures(rows, overbooking, checks) -> list[str]:
    """What fails the run: any overbooking count, or a call-next 200 that moved no entry of its own."""
    found = [f"{name}: {count}" for name, count in overbooking.items() if count]
    call = (checks or {}).get("call_next")
    row = next((row for row in rows if row["name"] == "call_next"), None)
    if call and row:
        if call["duplicate_tokens"]:
            found.append(f"call_next duplicate walk-in tokens: {call['duplicate_tokens']}")
        if int(row.get("statuses", {}).get("200", 0)) > call["called"]:
            found.append(f"call_next: {row['statuses']['200']} answers 200, {call['called']} entries called")
    return found


def overbooking_note(overbooking) -> str:
    return (
        f"- Overbooking after the run (SQL over every slot): {overbooking['over_capacity']} slots over capacity, "
        f"{overbooking['over_capacity_with_holds']} slots whose booked seats and active holds (not yet lapsed) "
        f"exceed the capacity, {overbooking['booked_mismatch']} slots whose `booked` differs from their "
        f"non-cancelled appointments, {overbooking['hold_count_mismatch']} whose `hold_count` differs from their "
        f"active holds, {overbooking['duplicate_tokens']} duplicate tokens."
    )


def notes_text(rows, overbooking, checks) -> list[str]:
    """The write mixes' notes and the overbooking check (also printed by a BENCH_ONLY run)."""
    return [*write_mix_notes(rows, checks), overbooking_note(overbooking)]


def peer_lines(rows, data) -> list[str]:
    """Issue 21's peer line: each seed route's req/s (read cache off) over the original's (SEED_ROUTES,
    measured once by issue 21 on this machine), with its target. Empty when no seed route ran."""
    seeds = [row for row in rows if row["name"] in SEED_ROUTES]
    if not seeds:
        return []
    lines = [
        "Seed routes against the original (peer line). Issue 21: every seed-compatible list route >= "
        f"{PEER_TARGET:g}x the original's req/s, computed (HMS with the read cache off: no answer from Redis), "
        "as many rows as the original answers (the default slot page, 20 rows against its 50, as a second look). The "
        "original's req/s are issue 21's measurement on this machine (gunicorn -w 2, the same PostgreSQL, no "
        f"Redis, wrk -t1 -c{CONNECTIONS}, medians of 3 rounds; `bench/common.py`, `SEED_ROUTES`); HMS's are this "
        "run's medians. Peer: HMS req/s / the original's; unlike the floor ratio, a stored figure against "
        "this run, so only a quiet machine's peer column counts (the load average is with the run).",
        "",
        "| Seed route | HMS rows | HMS req/s | the original | original req/s | peer | target |",
        "|---|---:|---:|---|---:|---:|---:|",
    ]
    for row in seeds:
        label, _floor, original, answered = SEED_ROUTES[row["name"]]
        page = data.get("rows", {}).get(row["name"])
        peer = row["rps"] / original
        met = "ok" if peer >= PEER_TARGET else "**below**"
        lines.append(
            f"| {label} | {page['page'] if page else '-'} | {row['rps']:.0f} | {answered} | {original:,} | "
            f"{peer:.2f} | >= {PEER_TARGET:g} {met} |"
        )
    return lines


def render(rows, growth, rss, overbooking, checks, data, small, info, elapsed, load) -> str:
    lines = [
        title(),
        "",
        machine_text(info, "")
        + f", floor and HMS alternated {ROUNDS} times, medians (ratio: median of the per-round ratios HMS/floor "
        "req/s).",
        f"Data (scale 1): {data['sizes']['hospitals']} hospitals, {data['sizes']['slots']:,} slots, "
        f"{data['sizes']['appointments']:,} appointments, {data['sizes']['users']:,} users. "
        + run_text(elapsed, load, info),
        "",
        "| Endpoint | req/s | p50 ms | p99 ms | floor | floor req/s | floor p50 ms | ratio | target | SQL/req "
        "| computed: SQL/req | alone: wall / CPU ms | computed alone: wall / CPU ms |",
        "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def alone_text(times):
        return f"{times['wall_ms']:.2f} / {times['cpu_ms']:.2f}" if times else "-"

    for row in rows:
        met = "ok" if row["ratio"] >= row["target"] else "**below**"
        computed_queries = data.get("computed_queries", {}).get(row["name"])
        lines.append(
            f"| {row['label']} | {row['rps']:.0f} | {row['p50']:.2f} | {row['p99']:.2f} | `{row['floor']}` | "
            f"{row['floor_rps']:.0f} | {row['floor_p50']:.2f} | {row['ratio']:.2f} | >= {row['target']} {met} | "
            f"{row['queries'] if row['queries'] is not None else '-'} | "
            f"{computed_queries if computed_queries is not None else '-'} | "
            f"{alone_text(data.get('single', {}).get(row['name']))} | "
            f"{alone_text(data.get('computed_single', {}).get(row['name']))} |"
        )
    lines.append("")
    if peer := peer_lines(rows, data):
        lines += [*peer, ""]
    notes = notes_text(rows, overbooking, checks)
    if data.get("call", {}).get("queues"):
        call = data["call"]
        notes.append(
            f"- call-next ran over {len(call['queues'])} queues (one per doctor, dated {call['date']}, hospital-local) "
            f"of {len(call['staff_tokens'])} hospitals, a random queue per request as that hospital's admin; "
            f"prepare topped them up with {call['added']:,} waiting walk-ins (bulk insert)."
        )
    if data.get("hold_slots"):
        notes.append(
            f"- Hold then book ran over {len(data['hold_slots']):,} bookable slots ({data['hold_seats']:,} free "
            f"seats, none of the booking mix's) and {len(data['hold_patients']):,} patients, a random pair each."
        )
    notes.append(
        f"- Gunicorn worker RSS after the run: {', '.join(f'{size:.0f} MB' for size in rss)} (target < 150 MB)."
    )
    for name, info_rows in data.get("rows", {}).items():
        notes.append(f"- `{name}` returned {info_rows['page']} rows of {info_rows['count']} at scale 1.")
    notes.append(
        "- SQL/req: queries of one request (Django test client, CaptureQueriesContext), authentication included. "
        "Alone: median of one request at a time through the Django test client (no HTTP, no concurrency): wall "
        "time, and the CPU time of the Python process (other processes on the machine barely move it)."
    )
    notes.append(
        "- The reads run as in production, with the read cache on Redis (`hms/api/readcache.py`): with no write "
        "during a read's measurement, its answers come from the cache after the first. *Computed*: the same "
        "request with the read cache off (`READ_CACHE_SECONDS=0 DASHBOARD_CACHE_SECONDS=0`), i.e. what a read "
        "costs right after a write; the booking mix (a write per request) runs with it on, as in production."
    )
    lines += notes
    if growth:
        lines += [
            "",
            f"Growth (target: p50 at scale 1 <= 1.2x p50 at scale 0.01). wrk p50: median of {ROUNDS} runs (mostly "
            "cached answers); alone: median wall time of one request at a time, *computed* from the database (no "
            "read cache: what the data size can change; the verdict uses it). "
            f"Scale 0.01: {small['sizes']['hospitals']} hospitals, {small['sizes']['slots']:,} slots, "
            f"{small['sizes']['appointments']:,} appointments.",
            "",
            "| Endpoint | wrk p50 @ 0.01 | wrk p50 @ 1 | growth | computed alone @ 0.01 | computed alone @ 1 "
            "| growth |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        labels = {name: label for name, label, _floor, _kind in ENDPOINTS}
        for name, (small_p50, large_p50) in growth.items():
            factor = large_p50 / small_p50 if small_p50 else float("nan")
            alone_small = small.get("computed_single", {}).get(name, {}).get("wall_ms", float("nan"))
            alone_large = data.get("computed_single", {}).get(name, {}).get("wall_ms", float("nan"))
            alone = alone_large / alone_small if alone_small else float("nan")
            met = "ok" if alone <= 1.2 else "**above**"
            lines.append(
                f"| {labels[name]} | {small_p50:.2f} | {large_p50:.2f} | {factor:.2f} | {alone_small:.2f} | "
                f"{alone_large:.2f} | {alone:.2f} {met} |"
            )
            if name == "availability":
                issue20 = (
                    f"Issue 20, availability with `by_bed_type` ({len(data.get('bed_types', {}))} bed types at "
                    f"scale 1: {', '.join(f'{kind} {n}' for kind, n in data.get('bed_types', {}).items()) or '-'}"
                    f"; at 0.01: {', '.join(f'{kind} {n}' for kind, n in small.get('bed_types', {}).items()) or '-'}"
                    f"): computed alone {alone_small:.2f} ms at scale 0.01, {alone_large:.2f} ms at scale 1, growth "
                    f"{alone:.2f} ({'flat with data' if alone <= 1.2 else '**not flat**'}: target <= 1.2)"
                )
                computed = next((row for row in rows if row["name"] == "availability_computed"), None)
                issue20 += (
                    f"; under wrk with the read cache off {computed['ratio']:.2f}x the floor's `/auth` (target >= "
                    f"{computed['target']}: {'ok' if computed['ratio'] >= computed['target'] else '**below**'})."
                    if computed
                    else "."
                )
        if growth.get("availability"):
            lines += ["", issue20]
    return "\n".join(lines) + "\n"


def write_results(section: str) -> None:
    path = BENCH / "RESULTS.md"
    header = "# HMS benchmark results\n\nNewest first; `make bench` prepends a section per run.\n\n"
    previous = path.read_text() if path.exists() else header
    body = previous[len(header) :] if previous.startswith(header) else previous
    path.write_text(header + section + ("\n" + body if body.strip() else ""))
