"""Measuring: wrk runs against HMS and the floor, the write mixes' Lua scripts (booking; hold then book;
call-next), worker memory, and the checks after them (overbooking with holds, entries called once)."""

import re
import statistics
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

# ruff: noqa: S603, S607 - runs this machine's own servers, wrk and the project's venv only.
from common import CONNECTIONS, DATA, ENDPOINTS, RAW, ROOT, ROUNDS, SECONDS, TARGETS, say
from servers import psql

WRITE_MIXES = ("booking", "hold_book", "call_next")
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
    codes = re.search(r"CODES(.*)", output)
    if codes:  # the write mixes' refusals, "status:code=count"
        result["codes"] = {key: int(count) for key, count in (item.rsplit("=", 1) for item in codes.group(1).split())}
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
{lua_threads("created, conflicts, other = 0, 0, 0", codes=False)}

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

{lua_done({"201": "created", "409": "conflicts", "other": "other"}, codes=False)}
"""
    )
    return script


LUA_CODES = """
-- The refusal codes of 4xx answers ({"errors": [{"code": ...}]}), tallied for the report.
codes = {}
function tally(status, body)
  local code = string.match(body or "", '"code":%s*"([%w_]+)"') or "none"
  local key = status .. ":" .. code
  codes[key] = (codes[key] or 0) + 1
end
function codes_line(threads)
  local merged, parts = {}, {}
  for _, thread in ipairs(threads) do
    for key, count in pairs(thread:get("codes")) do merged[key] = (merged[key] or 0) + count end
  end
  for key, count in pairs(merged) do table.insert(parts, key .. "=" .. count) end
  return "CODES " .. table.concat(parts, " ") .. "\\n"
end
"""


def lua_threads(*state: str, codes: bool = True) -> str:
    """The part every write mix's script shares: the threads kept for done() (which sums their counters),
    the refusal codes' tally (LUA_CODES, unless `codes` is false), and init() seeding the random picks and
    setting each thread's `state` (Lua assignments)."""
    assignments = "\n".join(f"  {line}" for line in state)
    return f"""local threads = {{}}
{LUA_CODES if codes else ""}
function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time())
{assignments}
end"""


def lua_done(counters: dict[str, str], codes: bool = True) -> str:
    """The done() every write mix ends with: each of `counters` (label: the threads' Lua variable) summed
    over the threads and written as `STATUS label=n ...` (read back by wrk() above), then the refusal
    codes (unless `codes` is false)."""
    totals = ", ".join(f"n{index}" for index in range(len(counters)))
    zeros = ", ".join("0" for _ in counters)
    sums = ", ".join(f'n{index} + thread:get("{name}")' for index, name in enumerate(counters.values()))
    labels = " ".join(f"{label}=%d" for label in counters)
    codes_line = "\n  io.write(codes_line(threads))" if codes else ""
    return f"""function done(summary, latency, requests)
  local {totals} = {zeros}
  for _, thread in ipairs(threads) do
    {totals} = {sums}
  end
  io.write(string.format("STATUS {labels}\\n", {totals})){codes_line}
end"""


def hold_book_script(data: dict) -> Path:
    """The hold-then-book mix. wrk calls request() per thread, not per connection, so the pairing is
    kept in the thread: a 201 hold (its body has `expires_at`) queues its id and patient, and the next
    request the thread sends books from the oldest queued hold as that patient; with none queued it
    holds a random slot for a random patient. So every hold is followed by its booking as soon as a
    connection is free (a few holds are still queued when the run ends: they stay active and count in
    the overbooking check). wrk's req/s counts every request, hold and booking alike; the pairs (201
    bookings) are counted here."""
    patients = ",\n".join(f'[{pk}] = "{token}"' for pk, token in data["hold_patients"])
    ids = ",".join(str(pk) for pk, _token in data["hold_patients"])
    slots = ",".join(str(pk) for pk in data["hold_slots"])
    script = DATA / "hold_book.lua"
    script.write_text(
        f"""-- Hold, then book from the hold: random patients over many slots (issue 18).
local tokens = {{
{patients}
}}
local ids = {{{ids}}}
local slots = {{{slots}}}
{lua_threads("pending, first, last = {}, 1, 0", "holds, pairs_booked, conflicts, other = 0, 0, 0, 0")}

local function post(path, token, body)
  return wrk.format("POST", path,
    {{["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}}, body)
end

function request()
  if first <= last then
    local hold = pending[first]
    pending[first] = nil
    first = first + 1
    return post("/api/v1/appointments", tokens[hold.patient], '{{"hold_id": ' .. hold.id .. '}}')
  end
  local patient = ids[math.random(#ids)]
  local slot = slots[math.random(#slots)]
  return post("/api/v1/slots/" .. slot .. "/hold", tokens[patient], "{{}}")
end

function response(status, headers, body)
  if status == 201 and string.find(body, '"expires_at"', 1, true) then
    holds = holds + 1
    last = last + 1
    pending[last] = {{
      id = string.match(body, '"id":%s*(%d+)'),
      patient = tonumber(string.match(body, '"patient_id":%s*(%d+)')),
    }}
  elseif status == 201 then pairs_booked = pairs_booked + 1
  elseif status == 409 then conflicts = conflicts + 1; tally(status, body)
  else other = other + 1; tally(status, body) end
end

{lua_done({"holds": "holds", "booked": "pairs_booked", "409": "conflicts", "other": "other"})}
"""
    )
    return script


def call_next_script(data: dict) -> Path:
    """call-next as each hospital's admin over many queues (a random queue per request)."""
    call = data["call"]
    staff = ",\n".join(f'"{token}"' for token in call["staff_tokens"])
    queues = ",".join(f"{{{pk},{who + 1}}}" for pk, who in call["queues"])
    script = DATA / "call_next.lua"
    script.write_text(
        f"""-- call-next over many queues, each by a hospital admin of its hospital (issue 18).
local staff = {{
{staff}
}}
local queues = {{{queues}}}
{lua_threads("called, empty, other = 0, 0, 0")}

function request()
  local queue = queues[math.random(#queues)]
  return wrk.format("POST", "/api/v1/queues/" .. queue[1] .. "/call-next",
    {{["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. staff[queue[2]]}},
    '{{"room": "Room ' .. (queue[1] % 20 + 1) .. '"}}')
end

function response(status, headers, body)
  if status == 200 then called = called + 1
  elseif status == 409 then empty = empty + 1; tally(status, body)
  else other = other + 1; tally(status, body) end
end

{lua_done({"200": "called", "409": "empty", "other": "other"})}
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
    # Holds take seats too (issue 18): booked + active holds not yet lapsed never above the capacity,
    # and `hold_count` (what the booking statement and the CHECK see) equal to the active holds.
    over_with_holds = psql(
        """SELECT count(*) FROM appointments_slot s
           JOIN (SELECT slot_id, count(*) AS n FROM appointments_hold
                 WHERE status = 'active' AND expires_at > now() GROUP BY slot_id) h ON h.slot_id = s.id
           WHERE s.booked + h.n > s.capacity""",
        database=database,
    )[0][0]
    hold_count_mismatch = psql(
        """SELECT count(*) FROM appointments_slot s
           LEFT JOIN (SELECT slot_id, count(*) AS n FROM appointments_hold
                      WHERE status = 'active' GROUP BY slot_id) h ON h.slot_id = s.id
           WHERE s.hold_count <> coalesce(h.n, 0)""",
        database=database,
    )[0][0]
    return {
        "over_capacity": over,
        "over_capacity_with_holds": over_with_holds,
        "booked_mismatch": mismatched,
        "hold_count_mismatch": hold_count_mismatch,
        "duplicate_tokens": duplicate_tokens,
    }


def hold_book_report(data: dict, database: str = "hms") -> dict:
    """The holds the mix made on its slots since prepare, by status (used: booked from; active: still
    queued when a run ended), and the appointments booked from them."""
    rows = psql(
        """SELECT status, count(*) FROM appointments_hold
           WHERE slot_id = ANY(%s) AND created_at >= %s GROUP BY status""",
        database=database,
        params=(data["hold_slots"], data["hold_since"]),
    )
    return {status: count for status, count in rows}


def call_next_report(data: dict, database: str = "hms") -> dict:
    """Entries of the benchmark queues still waiting, and how many left `waiting` since prepare (each
    call-next answered 200 moves exactly one: two desks never get one entry)."""
    queues = [pk for pk, _staff in data["call"]["queues"]]
    waiting = psql(
        "SELECT count(*) FROM appointments_queueentry WHERE queue_id = ANY(%s) AND status = 'waiting'",
        database=database,
        params=(queues,),
    )[0][0]
    duplicate = psql(
        """SELECT count(*) FROM (SELECT queue_id, token FROM appointments_queueentry
           WHERE queue_id = ANY(%s) AND appointment_id IS NULL GROUP BY queue_id, token HAVING count(*) > 1) d""",
        database=database,
        params=(queues,),
    )[0][0]
    return {
        "before": data["call"]["waiting"],
        "after": waiting,
        "called": data["call"]["waiting"] - waiting,
        "duplicate_tokens": duplicate,
    }


def measure_pairs(hms_port: int, floor_port: int, data: dict, floor_token: str, names: list[str]) -> dict:
    results = {}
    for name, label, floor_path, _kind in ENDPOINTS:
        if name not in names:
            continue
        script, path, token = None, None, None
        if name == "booking":
            script, path = booking_script(data), "/api/v1/appointments"
        elif name == "hold_book":
            if not data["hold_slots"]:
                sys.exit("bench: no bookable slot left for the hold-then-book mix")
            script, path = hold_book_script(data), "/api/v1/slots"
        elif name == "call_next":
            if not data["call"]["queues"]:
                sys.exit("bench: no queue for call-next")
            script, path = call_next_script(data), "/api/v1/queues"
        else:
            path = data["paths"][name]
            who = data["auth"][name]
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
        if name in WRITE_MIXES:
            totals, codes = {}, {}
            for run in runs:
                for status, count in run["hms"].get("statuses", {}).items():
                    totals[status] = totals.get(status, 0) + int(count)
                for code, count in run["hms"].get("codes", {}).items():
                    codes[code] = codes.get(code, 0) + count
            row["statuses"], row["codes"] = totals, codes
        rows.append(row)
    return rows
