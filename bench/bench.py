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
"""

import json
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

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
]
TARGETS = {"public": 0.7, "read": 0.7, "write": 0.5}
GROWTH = ["slots", "near", "availability", "stock", "dashboard_admin", "dashboard_patient"]
PROCESSES: list[subprocess.Popen] = []


def say(message: str) -> None:
    print(message, flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


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
        THROTTLE_BOOKING="100000000/min",
        THROTTLE_EMERGENCY="100000000/min",
        THROTTLE_REGISTER="100000000/min",
        THROTTLE_LOGIN_USERNAME="100000000/min",
        THROTTLE_LOGIN_IP="100000000/min",
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


def run(cmd: list[str], **kwargs) -> str:
    result = subprocess.run(cmd, check=True, text=True, capture_output=True, **kwargs)
    return result.stdout


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


def prepare(database: str) -> dict:
    return json.loads(run([PY, str(BENCH / "prepare.py")], cwd=ROOT, env=hms_env(database)))


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


def start_hms(database: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = hms_env(
        database,
        BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY=str(WORKERS),
        # Workers are not recycled during a run (production recycles after 2000 requests).
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


UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0, "h": 3600000.0}


def milliseconds(output: str, percentile: str) -> float:
    """A latency percentile of wrk's --latency table in ms (NaN when wrk printed none)."""
    found = re.search(rf"^\s+{percentile}%\s+([\d.]+)(us|ms|s|m|h)\s*$", output, re.MULTILINE)
    return float(found.group(1)) * UNITS[found.group(2)] if found else float("nan")


def wrk(port: int, path: str, *, token: str | None = None, script: Path | None = None) -> dict:
    cmd = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "--latency", "--timeout", "5s"]
    if token:
        cmd += ["-H", f"Authorization: Bearer {token}"]
    if script:
        cmd += ["-s", str(script)]
    output = subprocess.run([*cmd, f"http://127.0.0.1:{port}{path}"], text=True, capture_output=True).stdout
    RAW.mkdir(parents=True, exist_ok=True)
    raw = RAW / f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{port}-{re.sub(r'[^A-Za-z0-9]+', '_', path)[:60]}.txt"
    raw.write_text(output)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    requests = re.search(r"(\d+) requests in", output)
    result = {
        "rps": float(rps.group(1)) if rps else 0.0,
        "p50": milliseconds(output, "50"),
        "p99": milliseconds(output, "99"),
        "requests": int(requests.group(1)) if requests else 0,
        "raw": str(raw.relative_to(ROOT)),
    }
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    result["non_2xx"] = int(bad.group(1)) if bad else 0
    errors = re.search(r"Socket errors: (.*)", output)
    result["socket_errors"] = errors.group(1) if errors else ""
    statuses = re.search(r"STATUS (.*)", output)
    if statuses:
        result["statuses"] = dict(item.split("=") for item in statuses.group(1).split())
    return result


def booking_script(data: dict) -> Path:
    tokens = ",\n".join(f'"{token}"' for token in data["booking_tokens"])
    slots = ",".join(str(pk) for pk in data["booking_slots"])
    script = DATA / "booking.lua"
    script.write_text(
        f"""-- The booking mix: a random patient books a random future slot (201 or 409 both count).
local tokens = {{
{tokens}
}}
local slots = {{{slots}}}
local threads = {{}}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time())
  created, conflicts, other = 0, 0, 0
end

function request()
  local token = tokens[math.random(#tokens)]
  local slot = slots[math.random(#slots)]
  return wrk.format("POST", "/api/v1/appointments",
    {{["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}},
    '{{"slot_id": ' .. slot .. '}}')
end

function response(status, headers, body)
  if status == 201 then created = created + 1
  elseif status == 409 then conflicts = conflicts + 1
  else other = other + 1 end
end

function done(summary, latency, requests)
  local c, k, o = 0, 0, 0
  for _, thread in ipairs(threads) do
    c, k, o = c + thread:get("created"), k + thread:get("conflicts"), o + thread:get("other")
  end
  io.write(string.format("STATUS 201=%d 409=%d other=%d\\n", c, k, o))
end
"""
    )
    return script


def worker_rss_mb(master: subprocess.Popen) -> list[float]:
    children = Path(f"/proc/{master.pid}/task/{master.pid}/children").read_text().split()
    sizes = []
    for pid in children:
        status = Path(f"/proc/{pid}/status").read_text()
        sizes.append(int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024)
    return sizes


def overbooking_report() -> dict:
    over = psql("SELECT count(*) FROM appointments_slot WHERE booked > capacity", database="hms")[0][0]
    mismatched = psql(
        """SELECT count(*) FROM appointments_slot s
           LEFT JOIN (SELECT slot_id, count(*) AS n FROM appointments_appointment
                      WHERE status <> 'cancelled' GROUP BY slot_id) a ON a.slot_id = s.id
           WHERE s.booked <> coalesce(a.n, 0)""",
        database="hms",
    )[0][0]
    duplicate_tokens = psql(
        """SELECT count(*) FROM (SELECT slot_id, token_number FROM appointments_appointment
           GROUP BY slot_id, token_number HAVING count(*) > 1) d""",
        database="hms",
    )[0][0]
    return {"over_capacity": over, "booked_mismatch": mismatched, "duplicate_tokens": duplicate_tokens}


def measure_pairs(hms_port: int, floor_port: int, data: dict, floor_token: str, names: list[str]) -> dict:
    results = {}
    for name, label, floor_path, _kind in ENDPOINTS:
        if name not in names:
            continue
        script = booking_script(data) if name == "booking" else None
        path = "/api/v1/appointments" if name == "booking" else data["paths"][name]
        who = None if name == "booking" else data["auth"][name]
        token = data["tokens"][who] if who else None
        runs = []
        for _round in range(ROUNDS):
            floor = wrk(floor_port, floor_path, token=None if floor_path == "/public" else floor_token)
            hms = wrk(hms_port, path, token=token, script=script)
            runs.append({"floor": floor, "hms": hms, "ratio": hms["rps"] / floor["rps"] if floor["rps"] else 0.0})
            say(
                f"  {label:<48} {hms['rps']:8.0f} req/s  p50 {hms['p50']:6.2f} ms   floor {floor_path:<7} "
                f"{floor['rps']:7.0f} req/s  ratio {runs[-1]['ratio']:.2f}"
            )
        results[name] = runs
    return results


def median(runs: list[dict], side: str, key: str) -> float:
    return statistics.median(run[side][key] for run in runs)


def summarize(results: dict, data: dict) -> list[dict]:
    rows = []
    for name, label, floor_path, kind in ENDPOINTS:
        runs = results.get(name)
        if not runs:
            continue
        ratio = statistics.median(run["ratio"] for run in runs)
        row = {
            "name": name,
            "label": label,
            "floor": floor_path,
            "rps": median(runs, "hms", "rps"),
            "p50": median(runs, "hms", "p50"),
            "p99": median(runs, "hms", "p99"),
            "floor_rps": median(runs, "floor", "rps"),
            "floor_p50": median(runs, "floor", "p50"),
            "ratio": ratio,
            "target": TARGETS[kind],
            "queries": data["queries"].get(name),
            "non_2xx": sum(run["hms"]["non_2xx"] for run in runs),
        }
        if name == "booking":
            totals = {}
            for run in runs:
                for status, count in run["hms"].get("statuses", {}).items():
                    totals[status] = totals.get(status, 0) + int(count)
            row["statuses"] = totals
        rows.append(row)
    return rows


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


def render(rows, growth, rss, overbooking, data, small, info, elapsed, load) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"## {now} (commit {git_revision()})"
        + (f": {os.environ['BENCH_NOTE']}" if os.environ.get("BENCH_NOTE") else ""),
        "",
        f"Machine: {info['nproc']} CPUs ({info['cpu']}), {info['memory_mb'] / 1024:.1f} GiB RAM; Python "
        f"{info['python']}, PostgreSQL {info['postgresql']} (fsync off, throwaway), Redis {info['redis']} "
        f"as the shared cache (as in compose.yaml), {info['wrk']}. gunicorn sync, "
        f"{WORKERS} workers for HMS and for the floor; wrk -t1 -c{CONNECTIONS} -d{SECONDS}s, floor and HMS "
        f"alternated {ROUNDS} times, medians (ratio: median of the per-round ratios HMS/floor req/s).",
        f"Data (scale 1): {data['sizes']['hospitals']} hospitals, {data['sizes']['slots']:,} slots, "
        f"{data['sizes']['appointments']:,} appointments, {data['sizes']['users']:,} users. Whole run "
        f"{elapsed / 60:.1f} min. Load average (1 min) at start and end: {load[0]:.1f}, {load[1]:.1f} (on "
        f"{info['nproc']} cores; above ~1.5 means other processes shared the machine: compare ratios, not absolutes).",
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
    notes = []
    for row in rows:
        if row["name"] == "booking":
            statuses = ", ".join(f"{status}: {count}" for status, count in sorted(row.get("statuses", {}).items()))
            notes.append(f"- Booking mix responses ({ROUNDS} runs): {statuses}.")
        elif row["non_2xx"]:
            notes.append(f"- {row['label']}: {row['non_2xx']} non-2xx responses (unexpected).")
    notes.append(
        f"- Overbooking after the run (SQL over every slot): {overbooking['over_capacity']} slots over capacity, "
        f"{overbooking['booked_mismatch']} slots whose `booked` differs from their non-cancelled appointments, "
        f"{overbooking['duplicate_tokens']} duplicate tokens."
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
    return "\n".join(lines) + "\n"


def write_results(section: str) -> None:
    path = BENCH / "RESULTS.md"
    header = "# HMS benchmark results\n\nNewest first; `make bench` prepends a section per run.\n\n"
    previous = path.read_text() if path.exists() else header
    body = previous[len(header) :] if previous.startswith(header) else previous
    path.write_text(header + section + ("\n" + body if body.strip() else ""))


def main() -> None:
    started = time.monotonic()
    load_at_start = os.getloadavg()[0]
    DATA.mkdir(parents=True, exist_ok=True)
    info = machine()
    start_redis()
    seed("hms", "1")
    only = [name for name in os.environ.get("BENCH_ONLY", "").split(",") if name]
    if not only:
        seed("hms_small", "0.01")
    floor_token = setup_floor()
    data = prepare("hms")

    say(f"\nMeasuring HMS (scale 1) against the floor: {ROUNDS} x {SECONDS}s per side and endpoint")
    floor, floor_port = start_floor()
    hms, hms_port = start_hms("hms")
    names = only or [name for name, *_rest in ENDPOINTS]
    results = measure_pairs(hms_port, floor_port, data, floor_token, names)
    if only:  # a quick look while working on some endpoints: nothing is written
        say(
            f"\nBENCH_ONLY={','.join(only)}: median ratios "
            + ", ".join(
                f"{name} {statistics.median(run['ratio'] for run in runs):.2f}" for name, runs in results.items()
            )
        )
        return
    small = prepare("hms_small")
    rss = worker_rss_mb(hms)
    stop(hms)
    overbooking = overbooking_report()
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
    section = render(rows, growth, rss, overbooking, data, small, info, time.monotonic() - started, load)
    write_results(section)
    say("\n" + section)
    say(f"Written to {BENCH / 'RESULTS.md'}")
    if any(overbooking.values()):
        sys.exit("bench: OVERBOOKING FOUND")


if __name__ == "__main__":
    try:
        main()
    finally:
        for process in list(PROCESSES):
            stop(process)
