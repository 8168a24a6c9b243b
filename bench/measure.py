"""Measuring: wrk runs against HMS and the floor, the booking mix, worker memory, overbooking."""

import re
import statistics
import subprocess
from datetime import UTC, datetime
from pathlib import Path

# ruff: noqa: S603, S607 - runs this machine's own servers, wrk and the project's venv only.
from common import CONNECTIONS, DATA, ENDPOINTS, RAW, ROOT, ROUNDS, SECONDS, TARGETS, say
from servers import psql

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


def overbooking_report(database: str = "hms") -> dict:
    over = psql("SELECT count(*) FROM appointments_slot WHERE booked > capacity", database=database)[0][0]
    mismatched = psql(
        """SELECT count(*) FROM appointments_slot s
           LEFT JOIN (SELECT slot_id, count(*) AS n FROM appointments_appointment
                      WHERE status <> 'cancelled' GROUP BY slot_id) a ON a.slot_id = s.id
           WHERE s.booked <> coalesce(a.n, 0)""",
        database=database,
    )[0][0]
    duplicate_tokens = psql(
        """SELECT count(*) FROM (SELECT slot_id, token_number FROM appointments_appointment
           GROUP BY slot_id, token_number HAVING count(*) > 1) d""",
        database=database,
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
