"""Pools for creators whose bodies name records in a state no JSON schema can say (issue 22).

Creators whose bodies name records in a state no JSON schema can say, and that each success uses up (issue
22's "mostly rejected generated data": every positive case of a phase refused): an open referral, a waiting
entry, a reservation take a patient of their own; a transfer moves an admitted patient to a free bed of the
same hospital; a bed is reserved only while free; a new ambulance's driver drives for its hospital. Each
gets records named nowhere else in the run, the first in a valid example body (the coverage phase builds
its cases on it), the rest drawn with FAVOURED probability in the fuzzing phase (the other draws stay
random: the refusals are still fuzzed). One entry decides all of an operation's drawn parameters, so the
fields schemathesis.toml's [parameters] would draw are listed here too.
"""

import datetime

from fuzz_fixtures.base import (
    ALWAYS,
    FAVOURED,
    POOL,
    VICTIM_IDS,
    Api,
    new_ambulance,
    new_beds,
    new_doctor,
    pool_patient,
    referral_to,
)


def creator_pools(api: Api, *, receivers: list[int]) -> dict[str, dict]:
    first = 6 * POOL  # pool accounts of their own (transition_pools' and patient_pools' come before)
    patients = [
        made["id"] for made in (pool_patient(api, number) for number in range(first, first + 10 * POOL)) if made
    ]
    # A referral's patient is used up by its success (one open referral each): three times as many.
    referred, waiting, reserving = (
        patients[:POOL] + patients[7 * POOL : 9 * POOL],
        patients[POOL : 2 * POOL],
        patients[2 * POOL : 3 * POOL],
    )
    accepted_by, sent = patients[3 * POOL : 4 * POOL], patients[4 * POOL : 5 * POOL]
    holding, becoming, booking = patients[5 * POOL : 6 * POOL], patients[6 * POOL : 7 * POOL], patients[9 * POOL :]
    pools: dict[str, dict] = {}
    if referred:
        pools["api_v1_referrals_create"] = {
            "body.patient_id": referred,
            "body.from_hospital_id": [1, 1],
            "body.to_hospital_id": [receivers[0], *receivers],
            "probability": FAVOURED,
            "body": {
                "patient_id": referred[0],
                "from_hospital_id": 1,
                "to_hospital_id": receivers[0],
                "reason": "Fuzz",
            },
        }
    today = datetime.date.today()
    dates = [(today + datetime.timedelta(days=days)).isoformat() for days in range(1, 8)]
    doctors = [row["id"] for row in api.rows("/api/v1/doctors/?ordering=id&page_size=7")]
    if waiting and doctors:
        pools["api_v1_waitlist_create"] = {
            "body.patient_id": waiting,
            "body.doctor_id": [doctors[0], *doctors],
            "body.date": [dates[0], *dates],
            "probability": FAVOURED,
            "body": {"doctor_id": doctors[0], "date": dates[0], "patient_id": waiting[0]},
            "required": ["patient_id"],  # staff name the patient
        }
    # Beds of their own, made here (seed_demo's few are taken by the run's other records, and the referrals
    # above took the receivers' general beds): an accept holds a free bed of the referral's bed_type at the
    # destination, so these referrals ask for HDU beds a receiver is given; a transfer moves admitted
    # patients to free beds of the same hospital; a reservation and an admission take a free bed each.
    receiver = receivers[0]
    accepting = new_beds(api, receiver, "FZ-ACC", 3 * POOL, bed_type="hdu")
    to_accept = [made for made in (referral_to(api, receiver, patient, "hdu") for patient in accepted_by) if made]
    if to_accept:
        pools["api_v1_referrals_accept_create"] = {
            "path.id": [row["id"] for row in to_accept],
            "body.bed_id": [*accepting[:1], *accepting],
            "probability": FAVOURED,
            "body": {},
        }
    # Accepted referrals for a dispatch, and free ambulances of their origin (hospital 1) to send.
    to_send = [made for made in (referral_to(api, receiver, patient, "hdu") for patient in sent) if made]
    to_send = [made for made in to_send if api.call("POST", f"/api/v1/referrals/{made['id']}/accept/", {})]
    spare_ambulances = [made["id"] for made in (new_ambulance(api, f"FUZZ-SEND-{n}") for n in range(POOL)) if made]
    if to_send:
        pools["api_v1_referrals_dispatch_create"] = {
            "path.id": [row["id"] for row in to_send],
            "body.ambulance_id": [*spare_ambulances[:1], *spare_ambulances],
            "probability": FAVOURED,
            "body": {},
        }
    sources, targets = new_beds(api, 1, "FZ-FROM", POOL), new_beds(api, 1, "FZ-TO", 2 * POOL)
    admitted = [
        bed
        for bed in sources
        if api.call("POST", f"/api/v1/beds/{bed}/admit/", {"patient_name": f"Fuzz transfer {bed}", "reason": "Fuzz"})
    ]
    if admitted and targets:
        pools["api_v1_beds_transfer_create"] = {
            "path.id": admitted,
            "body.to_bed_id": [targets[0], *targets],
            "probability": FAVOURED,
            "body": {"to_bed_id": targets[0]},
        }
    until = [f"{day}T12:00:00Z" for day in dates[:5]]
    spare = new_beds(api, 1, "FZ-RES", POOL)
    if spare and reserving:
        pools["api_v1_beds_reserve_create"] = {
            "path.id": spare,
            "body.patient_id": reserving,
            "body.until": [until[0], *until],
            "probability": FAVOURED,
            "body": {"patient_id": reserving[0], "until": until[0]},
        }
    free_to_admit = new_beds(api, 1, "FZ-ADM", POOL)
    if free_to_admit:  # a walk-in (no account: no "admitted elsewhere") on a free bed of its own
        pools["api_v1_beds_admit_create"] = {
            "path.id": free_to_admit,
            "probability": FAVOURED,
            "body": {"patient_name": "Fuzz walk-in", "reason": "Fuzz"},
        }
    # A hold for a patient (staff name one): free slots of their own (patient_pools' are the highest ids,
    # bin/fuzz-fixtures' others the lowest), a patient of its own each.
    slots = [row["id"] for row in api.rows(f"/api/v1/slots/?available=true&ordering=id&page=3&page_size={5 * POOL}")]
    if slots and holding:
        pools["api_v1_slots_hold_create"] = {
            "path.id": slots[:POOL],
            "body.patient_id": holding,
            "probability": FAVOURED,
            "body": {"patient_id": holding[0]},
            "required": ["patient_id"],
        }
    # A booking by staff (POST /appointments, the seed-compatible POST /appointment/opd/book): staff name the
    # patient (booking_rules.patient_for: 400 required without one), a free slot ahead (capacity: a 409 once
    # full) and, if any, the slot's hospital. Free slots of one hospital of their own (after the holds' above),
    # a patient of their own (who books each slot once), and that patient's holds, one on each drawn slot: a
    # body names a slot, a hold or both, and a hold must be the named slot's and patient's (400 hold_mismatch,
    # patient_mismatch). With seed-ids' holds (the fuzz patient's, on slots 1..7, used up early) every
    # positive fuzzing case of POST /appointment/opd/book named a hold and was refused at seed 548930227
    # (FUZZ_INCLUDE='register|opd_book', once its body was required: 2 hold_mismatch, 1 patient_mismatch, 2
    # hold_used). Now a hold alone books, a slot alone too, and a hold beside a slot drawn apart matches one
    # time in 2 * POOL - 1.
    ahead = api.rows(f"/api/v1/slots/?available=true&ordering=id&page=4&page_size={5 * POOL}")
    hospital = ahead[0]["hospital_id"] if ahead else 0
    ahead = [row["id"] for row in ahead if row["hospital_id"] == hospital]
    for (operation, slots_of_its_own), patient in zip(
        (
            ("api_v1_appointments_create", ahead[: 2 * POOL]),
            ("appointment_opd_book_create", ahead[2 * POOL : 4 * POOL]),
        ),
        booking,
        strict=False,
    ):
        if not slots_of_its_own:
            continue
        holding = (
            api.call("POST", f"/api/v1/slots/{slot}/hold/", {"patient_id": patient}) for slot in slots_of_its_own[1:]
        )
        holds = [made["id"] for made in holding if made]
        pools[operation] = {
            "body.slot_id": slots_of_its_own,
            "body.patient_id": [patient, patient],
            "body.hospital_id": [hospital, hospital],
            **({"body.hold_id": [holds[0], *holds]} if holds else {}),
            "probability": FAVOURED,
            "body": {"slot_id": slots_of_its_own[0], "patient_id": patient, "reason": "Fuzz booking"},
            "required_any": [["patient_id"], ["hold_id"]],  # staff name the patient, or a hold (its patient)
        }
    # A floor of a multi-level hospital (an administrator names it), and rewrites of floors of hospital 1 (a
    # floor stays in its hospital: hospital_id, if given, must be its own; 400 hospital_mismatch).
    multi_level = [
        row["id"] for row in api.rows("/api/v1/hospitals/?ordering=id&page_size=50") if row.get("is_multi_level")
    ]
    multi_level = [pk for pk in multi_level if pk < min(VICTIM_IDS)]
    if multi_level:
        pools["api_v1_floors_create"] = {
            "body.hospital_id": [multi_level[0], *multi_level],
            "probability": FAVOURED,
            "body": {"hospital_id": multi_level[0], "floor_number": "FZ-NEW", "name": "Fuzz floor"},
            "required": ["hospital_id"],  # an administrator names the hospital
        }
    floors = [row["id"] for row in api.rows("/api/v1/floors/?hospital_id=1&ordering=id&page_size=50")]
    if floors:
        for operation in ("api_v1_floors_update", "api_v1_floors_partial_update"):
            pools[operation] = {"path.id": [floors[0], *floors], "body.hospital_id": [1, 1], "probability": FAVOURED}
    # A blood request's example body (the coverage phase builds its cases on it): an active bank, a moment
    # ahead. Without one it built on values read in answers (a deactivated bank, 400 inactive) and its own
    # boundary date (2000-01-01, 400: not in the past), and every case was refused (POST /bloodbank/request/
    # "mostly rejected", admin subset, seed 5).
    tomorrow = f"{(today + datetime.timedelta(days=2)).isoformat()}T09:00:00Z"
    for operation in ("api_v1_blood_requests_create", "bloodbank_request_create"):
        body = {"blood_bank_id": 1, "blood_group": "O+", "patient_name": "Fuzz", "units": 1, "required_by": tomorrow}
        pools[operation] = {"body": body}
    # Rewrites of doctors of their own, every time, out of the coverage phase (as schemathesis.toml keeps the
    # seeded hospitals, users and banks out of deactivations): the coverage phase rewrote doctor 1 (its id 1)
    # with is_available false, and every later booking, hold and waitlist entry of that doctor's slots -- the
    # slots the other pools and seed-ids name -- was a 409 doctor_unavailable (the administrator's "mostly
    # rejected" POST /appointments, /appointment/opd/book, /slots/{id}/hold in subsets with the doctors).
    edited = [made["id"] for made in (new_doctor(api, f"fuzzedit{n}") for n in range(POOL)) if made]
    if edited:
        for operation in ("api_v1_doctors_update", "api_v1_doctors_partial_update"):
            pools[operation] = {"path.id": edited, "probability": ALWAYS}
    # A new doctor adopting an account (user_id) of its own, at the hospital an administrator must name; the
    # coverage phase stays off (schemathesis.toml: its user_id 1 and 2 are the fuzz patient and donor).
    if becoming:
        pools["api_v1_doctors_create"] = {
            "body.user_id": becoming,
            "body.hospital_id": [1, 1],
            "probability": FAVOURED,
            "coverage": False,
            "required": ["hospital_id"],
        }
    # A new ambulance: the hospital an administrator must name, and a driver of that hospital.
    drivers = [row["id"] for row in api.rows("/api/v1/users/?role=ambulance_driver&hospital_id=1&is_active=true")]
    if drivers:
        pools["api_v1_ambulances_create"] = {
            "body.hospital_id": [1, 1],
            "body.driver_id": [drivers[0], *drivers],
            "probability": FAVOURED,
            "body": {"hospital_id": 1, "vehicle_number": "FUZZ-NEW-AMB", "driver_id": drivers[0]},
            "required": ["hospital_id"],  # an administrator names the hospital
        }
        # Ambulances of hospital 1 on no job to rewrite, with a driver of that hospital (PATCH keeps the hospital).
        rewritten = [made["id"] for made in (new_ambulance(api, f"FUZZ-EDIT-{n}") for n in range(POOL)) if made]
        for operation in ("api_v1_ambulances_update", "api_v1_ambulances_partial_update"):
            pools[operation] = {
                "path.id": rewritten,
                "body.hospital_id": [1, 1],
                "body.driver_id": [drivers[0], *drivers],
                "probability": FAVOURED,
            }
    return pools
