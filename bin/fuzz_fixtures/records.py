"""The records every run starts with (ids 1..7 of each table seed_demo leaves empty), then each fuzzed role's
pools (pools.json)."""

import datetime
import os
import sys

from fuzz_fixtures.base import COPIES, DOCTOR_PASSWORD, POOL, WEBHOOK_URL, Api, django_setup
from fuzz_fixtures.copies import write_pools
from fuzz_fixtures.database import notifications_for, start_slots_of
from fuzz_fixtures.patient import patient_pools, registration_pools, sign_in_examples
from fuzz_fixtures.repeatable import queue_pools, redelivery_pools, schedule_pools
from fuzz_fixtures.transitions import transition_pools


def main(base: str, token: str, patient_token: str = "") -> int:
    api = Api(base, token)
    today = datetime.date.today()
    patients = [row["id"] for row in api.rows("/api/v1/users/?role=user&ordering=id&page_size=50")]
    spares = [row["id"] for row in api.rows("/api/v1/users/?role=user&search=fuzzpatient&ordering=id")][1:]
    doctors = [row["id"] for row in api.rows("/api/v1/doctors/?ordering=id&page_size=50")][:COPIES]
    beds = [row["id"] for row in api.rows("/api/v1/beds/?status=available&ordering=id&page_size=50")]
    donors = [row["id"] for row in api.rows("/api/v1/users/?role=donor&ordering=id&page_size=50")]
    slots = [row["id"] for row in api.rows("/api/v1/slots/?ordering=id&page_size=70")]  # 14 + 7 pools of 8
    if not patients or not doctors:
        print("fuzz-fixtures: no patients or doctors (seed_demo did not run?)", file=sys.stderr)
        return 0
    for number in range(1, COPIES + 1):
        api.call(
            "POST",
            "/api/v1/blood-requests/",
            {"blood_bank_id": 1, "blood_group": "O+", "patient_name": f"Fuzz patient {number}", "units": 1},
        )
        api.call(
            "POST",
            "/api/v1/emergencies/",
            {
                "contact_number": f"+91 98000 1000{number}",
                "emergency_type": "other",
                "hospital_id": 1,
                "address": f"{number} Fuzz Street",
            },
        )
        api.call(
            "POST",
            "/api/v1/webhooks/",
            {"url": WEBHOOK_URL, "topics": ["hospital.1.beds"]},
        )
    # Referrals 1..7 (one open referral per patient), in each state an action starts from: 1-3 requested
    # (accept, reject, cancel), 4-5 accepted (dispatch), 6-7 in transit (complete).
    for number, patient in enumerate(spares[:COPIES], start=1):
        body = {"patient_id": patient, "from_hospital_id": 1, "to_hospital_id": 2, "reason": "Fuzz referral"}
        referral = api.call("POST", "/api/v1/referrals/", body)
        if referral and number >= 4:
            api.call("POST", f"/api/v1/referrals/{referral['id']}/accept/", {})
        if referral and number >= 6:
            api.call("POST", f"/api/v1/referrals/{referral['id']}/dispatch/", {})
    for doctor in doctors:  # queues 1..7 (one per doctor), today
        api.call("POST", "/api/v1/queues/", {"doctor_id": doctor, "date": today.isoformat()})
    for number in range(1, COPIES + 1):  # entries 1..7, in queue 1
        api.call("POST", "/api/v1/queues/1/entries/", {"name": f"Fuzz walk-in {number}"})
    for doctor, patient in zip(doctors, spares or patients[:1] * COPIES, strict=False):  # waitlist entries 1..7
        date = today + datetime.timedelta(days=1)
        api.call("POST", "/api/v1/waitlist/", {"doctor_id": doctor, "date": date.isoformat(), "patient_id": patient})
    for number in range(1, COPIES + 1):  # leaves 1..7 of the first doctor, far ahead (no bookings there)
        doctor = doctors[0]
        start = datetime.datetime.combine(today + datetime.timedelta(days=300 + number), datetime.time(9))
        api.call(
            "POST",
            f"/api/v1/doctors/{doctor}/leaves/",
            {"start": f"{start.isoformat()}Z", "end": f"{(start + datetime.timedelta(hours=2)).isoformat()}Z"},
        )
    for slot, patient in zip(slots[COPIES : 2 * COPIES], spares, strict=False):  # appointments 2..8 (1: seed_demo's)
        api.call("POST", "/api/v1/appointments/", {"slot_id": slot, "patient_id": patient})
    for slot in slots[:COPIES]:  # holds 1..7
        api.call("POST", f"/api/v1/slots/{slot}/hold/", {"patient_id": patients[0]})
    for bed in beds[:4]:  # admissions 1..4 (beds 5.. stay free for the fuzzer's own admissions)
        api.call("POST", f"/api/v1/beds/{bed}/admit/", {"patient_name": f"Fuzz inpatient {bed}"})
    until = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for bed, patient in zip(beds[4:7], spares[-3:], strict=False):  # reserved: a release, or an admission
        api.call("POST", f"/api/v1/beds/{bed}/reserve/", {"patient_id": patient, "until": until})
    for component in ("whole_blood", "plasma", "platelets"):
        if donors:
            api.call("POST", "/api/v1/donations/", {"donor_id": donors[0], "blood_bank_id": 1, "component": component})
    # Visits are recorded by the treating doctor (an admin is refused by design): seed_demo's doctor
    # records one for each of its appointments.
    login = api.call("POST", "/api/v1/auth/login/", {"username": "doctor", "password": DOCTOR_PASSWORD})
    doctor_token = (login or {}).get("access")
    for appointment in api.rows("/api/v1/appointments/?ordering=id", token=doctor_token) if doctor_token else []:
        api.call("POST", "/api/v1/visits/", {"appointment_id": appointment["id"]}, token=doctor_token)
    for webhook in range(1, COPIES + 1):  # a delivery of each webhook (queued, never sent during the run)
        api.call("POST", f"/api/v1/webhooks/{webhook}/test/")
    used = {patients[0], *spares}
    pools = transition_pools(
        api, slots=slots[2 * COPIES :], beds=beds[7:], patients=[p for p in patients if p not in used]
    )
    django_setup()
    start_slots_of(pools["api_v1_appointments_no_show_create"]["path.id"])
    written = notifications_for(os.environ.get("ADMIN_USERNAME", "fuzzadmin"))
    own = patient_pools(api, patient_token, taken={*slots}, beds=beds[7 + POOL :]) if patient_token else {}
    # After the patient's: its waitlist pool takes the last doctors, and these make one.
    pools.update(schedule_pools(api))
    pools.update(redelivery_pools(api))
    pools.update(queue_pools(api))
    for role, role_pools in (("admin", pools), ("patient", own)):
        role_pools.update(sign_in_examples())
        role_pools.update(registration_pools(role))
    write_pools({"admin": pools, "patient": own})
    print(f"fuzz-fixtures: done ({api.failed} refused, {len(written)} notifications)")
    return 0
