"""Pools of records in a transition's start state (issue 22), made through the API as the fuzz administrator.

Transitions take a record in one state (check-in a booked appointment, fulfil an approved request, ...),
and each call uses one up. Each listed operation gets a pool of its own records in its start state,
named nowhere else in the run: bin/fuzz's copy of schemathesis.toml (`fuzz_config`) draws the operation's
path id from the rest of the pool half the time in the fuzzing phase, and the first record is the path
parameter's example in bin/fuzz's copy of the schema (`fuzz_schema`), which the coverage phase sends
(the copy turns the examples phase off for them: it would use that record up first).
"""

import datetime
import itertools

from fuzz_fixtures.base import POOL, VICTIM_IDS, Api, pool_patient
from fuzz_fixtures.creators import creator_pools


def transition_pools(api: Api, *, slots: list[int], beds: list[int], patients: list[int]) -> dict[str, dict]:
    """{operation id: {"path.id" or "body.<field>": [record ids]}}, made through the API as the fuzz
    administrator."""
    # Appointments may share patients (other slots); an open referral or a reservation takes one of its own.
    bookers, slots, beds = itertools.cycle(patients or [0]), iter(slots), iter(beds)
    patients = iter([account["id"] for account in (pool_patient(api, number) for number in range(3 * POOL)) if account])
    pools: dict[str, dict] = {}

    def pool(operation: str, make) -> None:
        ids = [record["id"] for record in (make() for _ in range(POOL)) if record]
        pools.setdefault(operation, {})["path.id"] = ids

    def booked():
        return api.call("POST", "/api/v1/appointments/", {"slot_id": next(slots, 0), "patient_id": next(bookers)})

    def checked_in():
        appointment = booked()
        return appointment and api.call("POST", f"/api/v1/appointments/{appointment['id']}/check-in/")

    def blood_request():
        body = {"blood_bank_id": 1, "blood_group": "O+", "patient_name": "Fuzz transition", "units": 1}
        return api.call("POST", "/api/v1/blood-requests/", body)

    def approved():
        request = blood_request()
        return request and api.call("POST", f"/api/v1/blood-requests/{request['id']}/approve/")

    def referral(to_hospital=2):
        body = {"patient_id": next(patients, 0), "from_hospital_id": 1, "to_hospital_id": to_hospital, "reason": "Fuzz"}
        return api.call("POST", "/api/v1/referrals/", body)

    # An accept takes a free bed of the receiving hospital: spread over the seeded hospitals but the first.
    hospitals = [row["id"] for row in api.rows("/api/v1/hospitals/?ordering=id&page_size=50")]
    receivers = itertools.cycle([pk for pk in hospitals if 1 < pk < min(VICTIM_IDS)] or [2])

    def in_transit():
        made = referral(next(receivers))
        for action in ("accept", "dispatch"):
            made = made and api.call("POST", f"/api/v1/referrals/{made['id']}/{action}/", {})
        return made

    until = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")

    def reserved():
        bed = next(beds, 0)
        made = api.call("POST", f"/api/v1/beds/{bed}/reserve/", {"patient_id": next(patients, 0), "until": until})
        return made and {"id": bed}

    def emergency():
        body = {
            "contact_number": "+91 98000 20000",
            "emergency_type": "other",
            "hospital_id": 1,
            "address": "Fuzz Road",
        }
        return api.call("POST", "/api/v1/emergencies/", body)

    pool("api_v1_emergencies_dispatch_create", emergency)
    # Free ambulances of the emergencies' hospital, which a dispatch names (or picks itself without one).
    ambulances = (
        api.call("POST", "/api/v1/ambulances/", {"hospital_id": 1, "vehicle_number": f"FUZZ-AMB-{number}"})
        for number in range(2 * POOL)
    )
    pools["api_v1_emergencies_dispatch_create"]["body.ambulance_id"] = [made["id"] for made in ambulances if made]
    pool("api_v1_appointments_check_in_create", booked)
    # A cancel takes a booked appointment (seed-ids' 1..7 were cancelled by the first cases, then every cancel was
    # 409 illegal_transition); the seed-compatible DELETE /appointment/opd/cancel/{id}/ too (its ids are digit
    # strings).
    pool("api_v1_appointments_cancel_create", booked)
    pool("appointment_opd_cancel_destroy", booked)
    pools["appointment_opd_cancel_destroy"]["path.id"] = [
        str(pk) for pk in pools["appointment_opd_cancel_destroy"]["path.id"]
    ]
    pool("api_v1_appointments_complete_create", checked_in)
    pool("api_v1_appointments_no_show_create", booked)  # their slots are moved to the past below
    pool("api_v1_blood_requests_approve_create", blood_request)
    pool("api_v1_blood_requests_reject_create", blood_request)
    pool("api_v1_blood_requests_fulfil_create", approved)
    pool("api_v1_referrals_reject_create", referral)
    pool("api_v1_referrals_complete_create", in_transit)
    pool("api_v1_beds_release_create", reserved)
    # The seed-compatible booking takes a slot in its body: free slots ahead (the coverage phase's own
    # values book one already; it is not in the schema copy).
    pools["appointment_opd_book_create"] = {"body.slot_id": list(itertools.islice(slots, POOL))}
    # A donor gives whole blood once in 56 days: donors of their own for the fuzzer's donations, the first
    # in the example body the coverage phase builds on (its boundary donor ids, 1 and 2, are no donor's).
    donors = [made["id"] for made in (pool_patient(api, number, role="donor") for number in range(POOL)) if made]
    pools["api_v1_donations_create"] = {"body.donor_id": donors}
    if donors:
        pools["api_v1_donations_create"]["body"] = {"donor_id": donors[0], "blood_bank_id": 1}
    pools.update(creator_pools(api, receivers=[pk for pk in hospitals if 1 < pk < min(VICTIM_IDS)] or [2]))
    return pools
