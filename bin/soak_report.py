"""The soak's verdict (bin/soak.py collects, this judges): what each operation may answer, the limits on
worker RSS growth and on p99 per minute, the report's lines and failures, and the section that SOAK_WRITE=1
puts at the top of bench/RESULTS.md.
"""

import os
import subprocess
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

import race  # bin/race.py: the invariants' SQL

RSS_GROWTH_LIMIT = float(os.environ.get("SOAK_RSS_GROWTH", "0.05"))
P99_FACTOR = float(os.environ.get("SOAK_P99_FACTOR", "3"))


# Statuses an operation may answer besides its success: a full slot, a bed taken, a patient already
# admitted or booked are refusals the contract names (409), never errors.
EXPECTED = {
    "read hospitals": {200},
    "read hospital": {200},
    "read availability": {200},
    "read slots": {200},
    "read my appointments": {200},
    "read emergencies": {200},
    "book": {201, 409},
    "cancel": {200, 409},
    "admit": {201, 409},
    "discharge": {200, 409},
    "bed available": {200, 409},
    "report emergency": {201},
    "close emergency": {200, 409},
    "login": {200},
    "stream": {200},
}


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


def report(
    samples: list,
    monitor: list[dict],
    stream_events: Counter,
    *,
    seconds: float,
    warmup: float,
    threads: int,
    streams: int,
) -> tuple[list[str], list[str]]:
    """The report's lines and the failed checks, from the soak's samples (see bin/soak.py)."""
    lines, failures = [], []
    requests_ = [s for s in samples if s[1] != "stream"]
    statuses = Counter(status for _, _, status, _ in samples)
    server_errors = sum(n for status, n in statuses.items() if status >= 500)
    lines.append(
        f"{seconds:.0f} s ({warmup:.0f} s warm-up), {len(requests_)} requests ({len(requests_) / seconds:.1f}/s) "
        f"from {threads} threads over 2 gunicorn hosts x 2 workers; {server_errors} x 5xx"
    )
    if server_errors:
        failures.append(f"{server_errors} responses were 5xx (or no answer)")
    per_operation = defaultdict(Counter)
    for _, operation, status, _ in samples:
        per_operation[operation][status] += 1
    for operation, counts in sorted(per_operation.items()):
        lines.append(f"  {operation}: " + ", ".join(f"{n} x {status}" for status, n in sorted(counts.items())))
        unexpected = {status: n for status, n in counts.items() if status not in EXPECTED[operation]}
        if unexpected:
            failures.append(f"{operation}: unexpected statuses {unexpected}")
    minutes = defaultdict(list)
    for at, _operation, _, latency in requests_:
        minutes[int(at // 60)].append(latency)
    p99s = {minute: percentile(latencies, 0.99) * 1000 for minute, latencies in sorted(minutes.items())}
    lines.append("p99 per minute (ms): " + ", ".join(f"{minute + 1}: {p99:.0f}" for minute, p99 in p99s.items()))
    full = [p99 for minute, p99 in p99s.items() if (minute + 1) * 60 <= seconds + 1]
    if full:
        median = percentile(full, 0.5)
        if max(full) > P99_FACTOR * max(median, 20.0):
            failures.append(f"p99 not stable: a minute at {max(full):.0f} ms, median minute {median:.0f} ms")
    lines.append(
        f"p50 / p99 overall (ms): {percentile([s[3] for s in requests_], 0.5) * 1000:.0f} / "
        f"{percentile([s[3] for s in requests_], 0.99) * 1000:.0f}"
    )
    after_warmup = next((m for m in monitor if m["t"] >= warmup), None)
    last = monitor[-1] if monitor else None
    if after_warmup and last and after_warmup is not last:
        lines.append(f"worker RSS (MiB) at {after_warmup['t']:.0f} s -> at {last['t']:.0f} s:")
        for pid, (label, start_kib) in sorted(after_warmup["rss"].items()):
            end_kib = last["rss"].get(pid, (label, None))[1]
            if start_kib is None or end_kib is None:
                lines.append(f"  {label} pid {pid}: {start_kib} -> gone (recycled or died)")
                failures.append(f"{label} worker {pid} went away during the soak")
                continue
            growth = (end_kib - start_kib) / start_kib
            lines.append(f"  {label} pid {pid}: {start_kib / 1024:.1f} -> {end_kib / 1024:.1f} ({growth:+.1%})")
            if growth >= RSS_GROWTH_LIMIT:
                failures.append(f"{label} worker {pid} grew {growth:.1%} after warm-up (limit {RSS_GROWTH_LIMIT:.0%})")
    else:
        failures.append("too few samples to compare RSS after warm-up with the end (SOAK_SECONDS too short?)")
    connections = [m["connections"] for m in monitor]
    early = [m["connections"] for m in monitor if m["t"] < warmup + (seconds - warmup) / 2]
    late = [m["connections"] for m in monitor if m["t"] >= warmup + (seconds - warmup) / 2]
    if connections:
        lines.append(
            f"PostgreSQL connections: max {max(connections)} (first half {max(early, default=0)}, "
            f"second half {max(late, default=0)}), at the end {connections[-1]}"
        )
        if late and early and max(late) > max(early) + 2:
            failures.append(f"PostgreSQL connections grew: {max(early)} in the first half, {max(late)} in the second")
    lines.append(
        f"SSE: {streams} clients, {stream_events['connections']} connections, {stream_events['events']} events, "
        f"{stream_events['errors']} errors"
    )
    if streams and not stream_events["events"]:
        failures.append("the SSE clients received no event")
    race.failures.clear()
    race.check_invariants()
    lines.append(f"invariants of make race: {len(race.INVARIANTS)} checked, {len(race.failures)} violated")
    failures.extend(race.failures)
    return lines, failures


def write_results(lines: list[str], failures: list[str]) -> None:
    path = Path(__file__).resolve().parent.parent / "bench" / "RESULTS.md"
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True)
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    title = f"## {when} (commit {commit}{' + local changes' if dirty.stdout.strip() else ''}): soak, `make soak`"
    verdict = "PASS" if not failures else "FAIL: " + "; ".join(failures)
    section = "\n".join([title, "", "```", *lines, verdict, "```", "", ""])
    text = path.read_text()
    head, sep, rest = text.partition("\n## ")
    path.write_text(head.rstrip("\n") + "\n\n" + section + (("## " + rest) if sep else ""))
    print(f"soak: wrote a section to {path}")
