"""Multi-host races: two gunicorn instances over one PostgreSQL, hammered concurrently through the API.

Run by `make race` (bin/race starts PostgreSQL and the two servers). Every scenario is set up through
the public API as the bootstrap admin, then fired from many threads alternating between the hosts;
afterwards the invariants are checked in SQL. Exits non-zero on any violation or unexpected status.
"""

import json
import os
import subprocess
import sys
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from httpsend import send  # bin/, beside this script

HOSTS = [f"http://127.0.0.1:{port}" for port in sys.argv[1:3]]
ROUNDS = int(os.environ.get("RACE_ROUNDS", "3"))
PASSWORD = "Race-Pass-2026!"  # every account race (and bin/soak.py) creates
failures: list[str] = []
counts: Counter = Counter()
_host_turn = iter(range(10**9))
_lock = threading.Lock()


def call(method: str, path: str, body=None, token: str | None = None, host: str | None = None):
    if host is None:
        with _lock:
            host = HOSTS[next(_host_turn) % len(HOSTS)]
    status, _, payload = send(method, host + path, body, token)
    try:
        return status, json.loads(payload or b"null")
    except ValueError:
        if 200 <= status < 300:
            raise
        return status, payload.decode(errors="replace")


def ok(status, body, expected, what):
    if status not in expected:
        raise SystemExit(f"race setup failed: {what}: {status} {body}")
    return body


def fire(jobs):
    """Run callables together on as many threads as there are jobs; return their (status, body)."""
    barrier = threading.Barrier(len(jobs))

    def run(job):
        barrier.wait()
        return job()

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        return list(pool.map(run, jobs))


def expect(name, results, successes: int, success_code: int, refusal_codes=(409,)):
    statuses = Counter(status for status, _ in results)
    counts[f"{name}: requests"] += len(results)
    counts[f"{name}: successes"] += statuses[success_code]
    wrong = {code: n for code, n in statuses.items() if code != success_code and code not in refusal_codes}
    if statuses[success_code] != successes or wrong:
        failures.append(f"{name}: expected {successes} x {success_code}, got {dict(statuses)}")


def login(username, password):
    return ok(*call("POST", "/auth/login", {"username": username, "password": password}), {200}, "login")["access"]


def register(prefix, n, role="user"):
    tokens = []
    for i in range(n):
        name = f"{prefix}{i}"
        body = ok(
            *call(
                "POST",
                "/auth/register",
                {
                    "username": name,
                    "fullname": f"Race {name}",
                    "email": f"{name}@race.example.org",
                    "password": PASSWORD,
                    "role": role,
                },
            ),
            {201},
            "register",
        )
        tokens.append((body["user"]["id"], body["access"]))
    return tokens


def create_hospital(token, name, registration_number, **extra):
    """A hospital in Pune with emergency services, on UTC (extra: e.g. its `admin`)."""
    body = {
        "name": name,
        "registration_number": registration_number,
        "city": "Pune",
        "latitude": 18.52,
        "longitude": 73.85,
        "emergency_services": True,
        "is_multi_level": False,
        "timezone": "UTC",
        **extra,
    }
    return ok(*call("POST", "/api/v1/hospitals", body, token), {201}, "hospital")


def create_doctor(token, hospital_id, license_number, username, fullname, email):
    """A general OPD doctor of the hospital, with a new account."""
    body = {
        "hospital_id": hospital_id,
        "specialization": "General",
        "department": "OPD",
        "license_number": license_number,
        "user": {"username": username, "fullname": fullname, "email": email, "password": PASSWORD},
    }
    return ok(*call("POST", "/api/v1/doctors", body, token), {201}, "doctor")


def main():
    admin = login(os.environ["ADMIN_USERNAME"], os.environ["ADMIN_PASSWORD"])
    run_id = datetime.now().strftime("%H%M%S%f")
    hospital = create_hospital(
        admin,
        f"Race Hospital {run_id}",
        f"RACE-{run_id}",
        admin={
            "username": f"raceha{run_id}",
            "fullname": "Race Admin",
            "email": f"ha{run_id}@race.example.org",
            "password": PASSWORD,
        },
    )
    hospital_id = hospital["id"]
    patients = register(f"racep{run_id}_", 40)

    # --- bookings: capacity 5, 40 patients at once, per round a new slot ---
    doctor = create_doctor(
        admin, hospital_id, f"LIC-{run_id}", f"racedoc{run_id}", "Race Doctor", f"doc{run_id}@race.example.org"
    )
    for round_ in range(ROUNDS):
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2, hours=round_)
        slot = ok(
            *call(
                "POST",
                "/api/v1/slots",
                {
                    "doctor_id": doctor["id"],
                    "start": start.isoformat(),
                    "end": (start + timedelta(minutes=15)).isoformat(),
                    "capacity": 5,
                },
                admin,
            ),
            {201},
            "slot",
        )
        results = fire(
            [
                lambda t=t, slot_id=slot["id"]: call("POST", "/api/v1/appointments", {"slot_id": slot_id}, t)
                for _, t in patients
            ]
        )
        expect("booking (capacity 5, 40 patients)", results, 5, 201)
        status, body = call("GET", f"/api/v1/slots/{slot['id']}", token=admin)
        if body.get("booked") != 5:
            failures.append(f"slot {slot['id']} shows booked={body.get('booked')}, expected 5")

    # --- admissions: 20 patients to one bed; one patient to five beds ---
    ward = ok(
        *call(
            "POST",
            "/api/v1/wards",
            {"hospital_id": hospital_id, "name": "Race ward", "ward_number": run_id[-6:], "ward_type": "general"},
            admin,
        ),
        {201},
        "ward",
    )
    beds = [
        ok(*call("POST", "/api/v1/beds", {"ward_id": ward["id"], "bed_number": f"B{i}"}, admin), {201}, "bed")
        for i in range(ROUNDS + 5)
    ]
    for round_ in range(ROUNDS):
        bed = beds[round_]
        group = patients[round_ * 10 : round_ * 10 + 10] + patients[30:40]
        results = fire(
            [
                lambda pid=pid, bed_id=bed["id"]: call(
                    "POST", f"/api/v1/beds/{bed_id}/admit", {"patient_id": pid, "reason": "race"}, admin
                )
                for pid, _ in group
            ]
        )
        expect("admission (20 patients, one bed)", results, 1, 201)
        for _, body in results:
            if isinstance(body, dict) and body.get("id") and body.get("bed_id") == bed["id"]:
                call("POST", f"/api/v1/beds/{bed['id']}/discharge", {}, admin)
                call("POST", f"/api/v1/beds/{bed['id']}/status", {"status": "available"}, admin)
    lone_patient = patients[39][0]
    results = fire(
        [
            lambda b=b: call(
                "POST", f"/api/v1/beds/{b['id']}/admit", {"patient_id": lone_patient, "reason": "race"}, admin
            )
            for b in beds[ROUNDS:]
        ]
    )
    expect("admission (one patient, five beds)", results, 1, 201)

    # --- blood: 12 usable units, 10 requests of 3 units approved at once (a fresh bank each round) ---
    for round_ in range(ROUNDS):
        bank = ok(
            *call(
                "POST",
                "/api/v1/blood-banks",
                {
                    "name": f"Race bank {run_id}-{round_}",
                    "hospital_id": hospital_id,
                    "license_number": f"BB-{run_id}-{round_}",
                    "city": "Pune",
                },
                admin,
            ),
            {201},
            "blood bank",
        )
        for lot in range(3):
            ok(
                *call(
                    "POST",
                    f"/api/v1/blood-banks/{bank['id']}/stock",
                    {
                        "blood_group": "O-",
                        "component": "packed_red_cells",
                        "units": 4,
                        "lot_number": f"R{round_}-{lot}",
                    },
                    admin,
                ),
                {201},
                "stock",
            )
        requests_ = [
            ok(
                *call(
                    "POST",
                    "/api/v1/blood-requests",
                    {
                        "blood_bank_id": bank["id"],
                        "patient_name": f"Patient {i}",
                        "blood_group": "O-",
                        "component": "packed_red_cells",
                        "units": 3,
                        "urgency": "urgent",
                    },
                    admin,
                ),
                {201},
                "request",
            )
            for i in range(10)
        ]
        results = fire(
            [lambda r=r: call("POST", f"/api/v1/blood-requests/{r['id']}/approve", {}, admin) for r in requests_]
        )
        expect("blood approval (12 units, 10 x 3)", results, 4, 200)
        for r in requests_:
            call("POST", f"/api/v1/blood-requests/{r['id']}/cancel", {}, admin)

    # --- dispatch: one ambulance, six emergencies at once ---
    for round_ in range(ROUNDS):
        ambulance = ok(
            *call(
                "POST",
                "/api/v1/ambulances",
                {"hospital_id": hospital_id, "vehicle_number": f"MH-{run_id}-{round_}", "ambulance_type": "basic"},
                admin,
            ),
            {201},
            "ambulance",
        )
        emergencies = [
            ok(
                *call(
                    "POST",
                    "/api/v1/emergencies",
                    {
                        "contact_number": "9800000000",
                        "emergency_type": "accident",
                        "latitude": 18.52,
                        "longitude": 73.85,
                        "hospital_id": hospital_id,
                    },
                    admin,
                ),
                {201},
                "emergency",
            )
            for _ in range(6)
        ]
        results = fire(
            [
                lambda e=e, ambulance_id=ambulance["id"]: call(
                    "POST", f"/api/v1/emergencies/{e['id']}/dispatch", {"ambulance_id": ambulance_id}, admin
                )
                for e in emergencies
            ]
        )
        expect("dispatch (one ambulance, six emergencies)", results, 1, 200)
        for e in emergencies:
            call("POST", f"/api/v1/emergencies/{e['id']}/status", {"status": "cancelled"}, admin)

    # --- exports: six CSV streams at once across both hosts (a server-side cursor in one transaction
    # each, which must hold its server connection behind a pooler in transaction mode) ---
    status, listed = call("GET", f"/api/v1/emergencies?hospital_id={hospital_id}&page_size=1", token=admin)
    expected_lines = listed["count"] + 1  # the header
    path = f"/api/v1/emergencies?hospital_id={hospital_id}&format=csv"
    results = fire([lambda i=i: send("GET", HOSTS[i % 2] + path, None, admin)[::2] for i in range(6)])
    for status, payload in results:
        counts["CSV export: requests"] += 1
        lines = payload.decode().count("\r\n")
        if status != 200 or lines != expected_lines:
            failures.append(f"CSV export: {status}, {lines} lines, expected 200 and {expected_lines}")


INVARIANTS = {
    "slot seats (booked + held) exceed capacity": """
        SELECT count(*) FROM appointments_slot WHERE booked + hold_count > capacity""",
    "slot hold_count differs from active holds": """
        SELECT count(*) FROM appointments_slot s WHERE s.hold_count <> (
          SELECT count(*) FROM appointments_hold h WHERE h.slot_id = s.id AND h.status = 'active')""",
    "slot booked differs from active appointments": """
        SELECT count(*) FROM appointments_slot s WHERE s.booked <> (
          SELECT count(*) FROM appointments_appointment a
          WHERE a.slot_id = s.id AND a.status <> 'cancelled')""",
    "bed with two active admissions": """
        SELECT count(*) FROM (SELECT bed_id FROM hospitals_admission WHERE discharged_at IS NULL
        GROUP BY bed_id HAVING count(*) > 1) x""",
    "patient with two active admissions": """
        SELECT count(*) FROM (SELECT patient_id FROM hospitals_admission WHERE discharged_at IS NULL
        AND patient_id IS NOT NULL GROUP BY patient_id HAVING count(*) > 1) x""",
    "free-slot counters differ from a recount (today on)": """
        SELECT count(*) FROM (
          SELECT hospital_id, doctor_id, day, SUM(n) AS n FROM appointments_freeslotcount
          WHERE day >= floor(extract(epoch FROM now()) / 86400) GROUP BY 1, 2, 3 HAVING SUM(n) <> 0
        ) counted FULL JOIN (
          SELECT hospital_id, doctor_id, floor(extract(epoch FROM start) / 86400)::integer AS day, count(*) AS n
          FROM appointments_slot WHERE status = 'open' AND booked + hold_count < capacity
          AND start >= to_timestamp(floor(extract(epoch FROM now()) / 86400) * 86400) GROUP BY 1, 2, 3
        ) recounted USING (hospital_id, doctor_id, day) WHERE counted.n IS DISTINCT FROM recounted.n""",
    "blood lot below zero": "SELECT count(*) FROM bloodbank_stocklot WHERE units < 0",
    "ambulance on two open emergencies": """
        SELECT count(*) FROM (SELECT ambulance_id FROM emergency_emergency WHERE ambulance_id IS NOT NULL
        AND status NOT IN ('resolved', 'cancelled') GROUP BY ambulance_id HAVING count(*) > 1) x""",
}


def check_invariants():
    for name, sql in INVARIANTS.items():
        result = subprocess.run(["psql", "-tAc", sql, os.environ["PG_DB_NAME"]], capture_output=True, text=True)
        if result.returncode != 0:
            failures.append(f"invariant query failed ({name}): {result.stderr.strip()}")
        elif result.stdout.strip() != "0":
            failures.append(f"INVARIANT VIOLATED: {name}: {result.stdout.strip()}")
        counts["invariants checked"] += 1


if __name__ == "__main__":
    main()
    check_invariants()
    for key, value in counts.items():
        print(f"race: {key}: {value}")
    for failure in failures:
        print(f"race: FAIL {failure}")
    print(f"race: {len(failures)} failures")
    sys.exit(1 if failures else 0)
