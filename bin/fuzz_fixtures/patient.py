"""The fuzz patient's own records and pools (pools.json's "patient").

The fuzz patient's run (issue 22): a patient sees its own records only, so every record id of the other
modules (made for other patients) is a 404 to it. Its own records, made with its token where it may make them itself:
the operations it may do draw from them half the time; the staff's operations on them (check-in, approve,
dispatch, ...), which refuse a patient with 403 whatever the id names, draw only from them, so that they
answer the patient 403 alone (a generated id was a 404, the "missing test data" of an operation no
patient may use). The patient's pools are its own (pools.json's "patient"), in its copy of the config.
"""

import datetime
import itertools
import os

from fuzz_fixtures.base import ALWAYS, COPIES, DOCTOR_PASSWORD, FAVOURED, POOL, Api
from fuzz_fixtures.database import notifications_for

STAFF_ON_OWN = {  # staff operations on the patient's own records (403), by the pool they draw from
    "appointments": (
        "api_v1_appointments_check_in_create",
        "api_v1_appointments_complete_create",
        "api_v1_appointments_no_show_create",
    ),
    "blood_requests": (
        "api_v1_blood_requests_approve_create",
        "api_v1_blood_requests_reject_create",
        "api_v1_blood_requests_fulfil_create",
    ),
    "emergencies": (
        "api_v1_emergencies_dispatch_create",
        "api_v1_emergencies_forward_create",
        "api_v1_emergencies_status_create",
    ),
    "referrals": (
        "api_v1_referrals_accept_create",
        "api_v1_referrals_reject_create",
        "api_v1_referrals_dispatch_create",
        "api_v1_referrals_complete_create",
    ),
}


def sign_in_examples() -> dict[str, dict]:
    """Each sign-in's example: an account that exists, with its password (schemathesis.toml's dictionaries
    name them too). The coverage phase builds its boundary cases on the example; without one every case
    was refused (400, 401), and the operation reported "mostly rejected"."""
    accounts = {
        "login": {"username": "patient", "password": "Patient-Pass-2026"},
        "admin_login": {
            "username": os.environ.get("ADMIN_USERNAME", "fuzzadmin"),
            "password": os.environ.get("ADMIN_PASSWORD", "Fuzz-Admin-Pass-2026"),
        },
        "hospital_login": {"username": "hospital_admin", "password": "Hospital-Pass-2026"},
    }
    return {
        f"{prefix}auth_{name}_create": {"body": body} for prefix in ("", "api_v1_") for name, body in accounts.items()
    }


# Self-registration (POST /auth/register and /api/v1/auth/register) as the fuzzed role: usernames and e-mail
# addresses of the role's own. The two roles' schemathesis runs draw the same seed, and neither has a pool
# for these operations otherwise, so they generated the same bodies at about the same time: the run that
# came second met each new username or e-mail as a 409 unique (bin/fuzz_hooks.py freshens a value its own
# run already sent, not one the other run sent first). With one 400 beside them (a key holding U+0000, see
# bin/fuzz), a phase of 409s reported "mostly rejected" (the administrator's POST /api/v1/auth/register,
# full run at seed 548930227: fuzzing phase).
REGISTRATIONS = {"auth_register_create": "reg", "api_v1_auth_register_create": "regv1"}
REGISTRANT_PASSWORD = "Kestrel-Harbour-93"  # like none of the names (UserAttributeSimilarityValidator)


def registration_pools(role: str) -> dict[str, dict]:
    """Each registration draws a username and an e-mail address of the fuzzed role's own most of the time,
    and the coverage phase builds on a valid body of them (the other draws stay generated)."""
    pools = {}
    for operation, short in REGISTRATIONS.items():
        usernames = [f"fz-{role}-{short}-{number}" for number in range(POOL)]
        emails = [f"{username}@example.org" for username in usernames]
        pools[operation] = {
            "body.username": usernames,
            "body.email": emails,
            "probability": FAVOURED,
            "body": {
                "username": usernames[0],
                "fullname": "Fuzz Newcomer",
                "email": emails[0],
                "password": REGISTRANT_PASSWORD,
            },
        }
    return pools


def patient_pools(api: Api, token: str, *, taken: set[int], beds: list[int]) -> dict[str, dict]:
    """{operation id: {"path.id" ...: [record ids], "probability"?: 1.0}} for the fuzz patient (user 1)."""
    me = api.call("GET", "/api/v1/auth/profile/", token=token) or {}
    patient = me.get("id", 1)
    rows = [
        row
        for page in (1, 2)  # 50 bookings, holds and booked slots
        for row in api.rows(f"/api/v1/slots/?available=true&ordering=-id&page_size=100&page={page}")
        if row["id"] not in taken
    ]
    free, hospital_of = [row["id"] for row in rows], {row["id"]: row["hospital_id"] for row in rows}
    slots = iter(free)
    pools: dict[str, dict] = {}

    def made(make, count=POOL) -> list:
        return [record["id"] for record in (make() for _ in range(count)) if record]

    def booked():
        return api.call("POST", "/api/v1/appointments/", {"slot_id": next(slots, 0)}, token=token)

    def held_in(slot: int):
        return api.call("POST", f"/api/v1/slots/{slot}/hold/", {}, token=token)

    def held():
        return held_in(next(slots, 0))

    def blood_request():
        body = {"blood_bank_id": 1, "blood_group": "O+", "patient_name": "Fuzz Patient", "units": 1}
        return api.call("POST", "/api/v1/blood-requests/", body, token=token)

    def emergency():
        body = {
            "contact_number": "+91 98000 30000",
            "emergency_type": "other",
            "hospital_id": 1,
            "address": "Fuzz Lane",
        }
        return api.call("POST", "/api/v1/emergencies/", body, token=token)

    doctors = [row["id"] for row in api.rows("/api/v1/doctors/?ordering=id&page_size=50")]
    days = [datetime.date.today() + datetime.timedelta(days=n) for n in range(1, 4)]
    waits = iter(itertools.product(doctors, days))

    def waiting():
        doctor, day = next(waits, (0, days[0]))
        return api.call("POST", "/api/v1/waitlist/", {"doctor_id": doctor, "date": day.isoformat()}, token=token)

    own = {"appointments": made(booked), "blood_requests": made(blood_request), "emergencies": made(emergency)}
    pools["api_v1_appointments_retrieve"] = {"path.id": own["appointments"]}
    # A change of reason, or a reschedule to a free slot ahead (half the time).
    moves = list(itertools.islice(slots, POOL))
    for operation in ("api_v1_appointments_partial_update", "appointment_opd_update_update"):
        ids = own["appointments"] if operation.startswith("api") else [str(pk) for pk in own["appointments"]]
        pools[operation] = {"path.id": ids, "body.slot_id": moves, "body": {"reason": "Fuzz: a new reason"}}
    pools["api_v1_appointments_cancel_create"] = {"path.id": made(booked)}
    aliases = {"appointment_opd_retrieve": own["appointments"]}
    aliases["appointment_opd_cancel_destroy"] = made(booked)
    for operation, ids in aliases.items():  # the seed aliases' ids are digit strings
        pools[operation] = {"path.id": [str(pk) for pk in ids]}
    pools["api_v1_blood_requests_retrieve"] = {"path.id": own["blood_requests"]}
    pools["api_v1_blood_requests_cancel_create"] = {"path.id": made(blood_request)}
    pools["api_v1_emergencies_retrieve"] = {"path.id": own["emergencies"]}
    holds = made(held)
    pools["api_v1_holds_retrieve"] = {"path.id": holds}
    pools["api_v1_holds_destroy"] = {"path.id": holds}
    entries = made(waiting)
    pools["api_v1_waitlist_retrieve"] = {"path.id": entries}
    pools["api_v1_waitlist_destroy"] = {"path.id": entries}
    notifications = [str(pk) for pk in notifications_for(me.get("username", "fuzzpatient"), POOL)]
    pools["api_v1_notifications_retrieve"] = {"path.id": notifications}
    pools["api_v1_notifications_read_create"] = {"path.id": notifications}
    # An admission (a patient has one at a time) and a referral (one open one) of the patient's own.
    admission = beds and api.call("POST", f"/api/v1/beds/{beds[0]}/admit/", {"patient_id": patient, "reason": "Fuzz"})
    if admission:
        pools["api_v1_admissions_retrieve"] = {"path.id": [admission["id"]]}
    body = {"patient_id": patient, "from_hospital_id": 1, "to_hospital_id": 2, "reason": "Fuzz"}
    referral = api.call("POST", "/api/v1/referrals/", body)
    own["referrals"] = [referral["id"]] if referral else []
    pools["api_v1_referrals_retrieve"] = {"path.id": own["referrals"]}
    # A visit: seed_demo's doctor records one for an appointment the patient books with it.
    login = api.call("POST", "/api/v1/auth/login/", {"username": "doctor", "password": DOCTOR_PASSWORD})
    doctor_token = (login or {}).get("access")
    mine = api.rows("/api/v1/appointments/?ordering=id", token=doctor_token) if doctor_token else []
    if mine:
        path = f"/api/v1/slots/?available=true&doctor_id={mine[0]['doctor_id']}&ordering=-id&page_size=100"
        slot = next((row["id"] for row in api.rows(path) if row["id"] not in taken | set(free)), None)
        appointment = slot and api.call("POST", "/api/v1/appointments/", {"slot_id": slot}, token=token)
        visit = appointment and api.call(
            "POST", "/api/v1/visits/", {"appointment_id": appointment["id"]}, token=doctor_token
        )
        if visit:
            pools["api_v1_visits_retrieve"] = {"path.id": [visit["id"]]}
    # Bookings and a waitlist entry of the patient's own: a valid body as the operation's example (the
    # coverage phase builds its boundary cases on it; they were all refused, "mostly rejected"), and the
    # booked slot drawn from free slots most of the time, with their hospital. A booking's body names a slot,
    # a hold, or both (the hold's own slot, else 400 hold_mismatch), and three of four generated bodies named
    # both: the hold from seed-ids (the fixtures' holds 1..7, on slots 1..7, used up early) beside a slot of
    # the pool, refused every time (POST /appointment/opd/book "mostly rejected" at seed 544964158: in a subset
    # of the booking operations, all 6 positive fuzzing cases 400 hold_mismatch, and 16 of 34 coverage cases).
    # The patient holds a seat in each drawn slot, and the drawn hold is one of those: a hold and a slot drawn
    # apart match one time in POOL - 1, a hold alone books its seat, a slot alone books beside the hold (4
    # seats a slot); a patient_id drawn from seed-ids was another's (400 patient_mismatch beside a hold).
    for operation in ("api_v1_appointments_create", "appointment_opd_book_create"):
        window = list(itertools.islice(slots, 2 * POOL))
        hospitals = [hospital_of[pk] for pk in window]
        ahead = [pk for pk in window if hospitals and hospital_of[pk] == max(hospitals, key=hospitals.count)][:POOL]
        if not ahead:
            continue
        holds = [made["id"] for made in (held_in(slot) for slot in ahead[1:]) if made]
        pools[operation] = {
            "body.slot_id": ahead,  # the first is the example's: the others are drawn (copies.fuzz_config)
            "body.hospital_id": [hospital_of[ahead[0]]] * 2,
            "body.patient_id": [patient, patient],  # its own (another's: 403, or 400 patient_mismatch with a hold)
            **({"body.hold_id": [holds[0], *holds]} if holds else {}),
            "probability": FAVOURED,
            "body": {"slot_id": ahead[0], "reason": "Fuzz booking"},
        }
    if doctors:  # its example a doctor and date none of the entries above wait for (examples phase off: the
        # coverage phase's cases build on it, and the example sent first left them an entry already waiting)
        dates = [day.isoformat() for day in days]
        body = {"doctor_id": doctors[-1], "date": dates[0]}
        pools["api_v1_waitlist_create"] = {"body.doctor_id": doctors[-2:], "body.date": dates, "body": body}
    for pool, operations in STAFF_ON_OWN.items():
        for operation in operations:
            if own[pool]:
                pools[operation] = {"path.id": own[pool], "probability": ALWAYS}
    # A reject's body is read before the caller's role (a blank reason is a 400 to anyone): the patient's
    # rejects state a reason, and meet the refusal they are there for.
    for operation in ("api_v1_blood_requests_reject_create", "api_v1_referrals_reject_create"):
        if operation in pools:
            pools[operation]["body.reason"] = ["Fuzz: refused"]
    # Staff records the patient may never see or touch, refused 403 whatever they name: named by records
    # that exist (the admin's fixtures, ids 1..7), every time.
    seeded = list(range(1, COPIES + 1))
    for operation in ("api_v1_doctors_leaves_list", "api_v1_doctors_leaves_create"):
        pools[operation] = {"path.doctor_id": [1], "probability": ALWAYS}
    for operation in ("api_v1_doctors_leaves_retrieve", "api_v1_doctors_leaves_destroy"):
        pools[operation] = {"path.doctor_id": [1], "path.id": [str(pk) for pk in seeded], "probability": ALWAYS}
    for action in ("done", "recall", "skip", "start"):
        pools[f"api_v1_queues_entries_{action}_create"] = {
            "path.id": [1],
            "path.entry_id": seeded,
            "probability": ALWAYS,
        }
    pools["api_v1_webhooks_deliveries_redeliver_create"] = {
        "path.id": seeded,
        "path.delivery_id": seeded,
        "probability": ALWAYS,
    }
    # Not GET /api/v1/donations/{id}/: a donation is its donor's, and the fuzz patient is no donor (a 404).
    return pools
