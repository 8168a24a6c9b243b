"""Pools for actions that use nothing up but need a record in a given state and a body no JSON schema can
describe (issue 22): generating a schedule's slots, redelivering a webhook's delivery.

POST /api/v1/opd-schedules/{id}/generate-slots was "mostly rejected" (admin, seed 683674503): seed_demo makes
four schedules, so seed-ids 5..7 named none (404); the fuzzer's own rewrites (PUT, PATCH with is_active false)
deactivated those that exist, the coverage phase's id 1 first (409 schedule_inactive); and its dates, drawn
one by one, were mostly out of the window (appointments.serializers.schedules.GenerateSlotsIn: from_date at
most 366 days ago, to_date at most 730 days ahead, on or after from_date, at most 90 days after it): a
generated date is almost never within three years of today, and two upcoming dates drawn apart are out of
order about half the time (400).

POST /api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver had "missing test data" (admin, seed
1691577710): a delivery is found only through its own webhook, and the webhook and delivery ids were drawn
apart (seed-ids each: a delivery of webhook 2 was 8 and 9, the feed's events make deliveries too), so the
pair seldom matched (404); webhook 1, the coverage phase's id, was deactivated by the fuzzer's DELETE or PATCH
first (409 webhook_inactive).

POST /api/v1/queues/{id}/entries/{entry_id}/done had "missing test data" (admin, seed 683674503, full run): a
done takes an entry in consultation (called, then started), and the fixtures' entries (1..7, of queue 1) were
waiting; the queue and entry ids were drawn apart too (404 but for queue 1).

POST /api/v1/opd-schedules and PUT /api/v1/opd-schedules/{id} were "mostly rejected" now and then (admin
subset, seed 172407305): the coverage phase built its cases on a body no example gave (doctor 2 with another
hospital's id, valid_until 2000-01-01), refused whole; a rewrite's dates and hours were generated apart (400
valid_until, end_time), and it rewrote seed-ids' schedules, deactivating those other operations name.
"""

import datetime

from fuzz_fixtures.base import COPIES, FAVOURED, POOL, WEBHOOK_URL, Api, new_doctor

# A schedule's hours: a few slots a day, so each generation stays small.
SCHEDULE = {
    "weekdays": [0, 1, 2, 3, 4, 5, 6],
    "start_time": "09:00:00",
    "end_time": "11:00:00",
    "slot_minutes": 30,
    "capacity_per_slot": 2,
}
# A new or rewritten schedule's hours: every start before every end, a span longer than any slot (240 minutes).
STARTS, ENDS = ["08:00:00", "09:00:00"], ["13:00:00", "14:00:00"]
HOURS = {"weekdays": [0, 1, 2, 3, 4, 5], "start_time": STARTS[0], "end_time": ENDS[0]}
# Every drawn from_date before every drawn to_date, both ahead (the hospital's today may be the machine's
# tomorrow: Asia/Kolkata), at most two weeks apart.
FROM_DAYS, TO_DAYS = range(1, 1 + POOL), range(1 + POOL, 1 + 2 * POOL)


def schedule_pools(api: Api) -> dict[str, dict]:
    """OPD schedules up to id COPIES (seed-ids name them all); generations on schedules of their own (a doctor
    of its own, active, named nowhere else) with dates in the window; rewrites of schedules of their own."""
    existing = api.rows(f"/api/v1/opd-schedules/?ordering=id&page_size={COPIES}")
    for _ in range(COPIES - len(existing)):  # Sundays of seed_demo's first doctor (its schedules are Mon-Sat)
        api.call("POST", "/api/v1/opd-schedules/", {**SCHEDULE, "doctor_id": 1, "weekdays": [6]})
    doctor = new_doctor(api, "fuzzgenerate")
    if not doctor:
        return {}
    made = (api.call("POST", "/api/v1/opd-schedules/", {**SCHEDULE, "doctor_id": doctor["id"]}) for _ in range(POOL))
    schedules = [schedule["id"] for schedule in made if schedule]
    today = datetime.date.today()
    from_dates = [(today + datetime.timedelta(days=days)).isoformat() for days in FROM_DAYS]
    to_dates = [(today + datetime.timedelta(days=days)).isoformat() for days in TO_DAYS]
    if not schedules:
        return {}
    pools = {
        "api_v1_opd_schedules_generate_slots_create": {
            "path.id": schedules,
            "body.from_date": from_dates,
            "body.to_date": to_dates,
            "probability": FAVOURED,
            "body": {"from_date": from_dates[0], "to_date": to_dates[0]},
        },
        # A new schedule's valid body (seed_demo's first doctor works at hospital 1); schemathesis.toml's entry
        # draws its fields.
        "api_v1_opd_schedules_create": {
            "body": {**HOURS, "doctor_id": 1, "hospital_id": 1, "valid_from": from_dates[0]}
        },
    }
    made = (api.call("POST", "/api/v1/opd-schedules/", {**SCHEDULE, "doctor_id": doctor["id"]}) for _ in range(POOL))
    rewritten = [schedule["id"] for schedule in made if schedule]
    for operation in ("api_v1_opd_schedules_update", "api_v1_opd_schedules_partial_update"):
        if rewritten:  # schedules of their own, hours and validity that end after they start
            pools[operation] = {
                "path.id": rewritten,
                "body.start_time": [STARTS[0], *STARTS],
                "body.end_time": [ENDS[0], *ENDS],
                "body.valid_from": from_dates,
                "body.valid_until": to_dates,
                "probability": FAVOURED,
                "body": {**HOURS, "valid_from": from_dates[0], "valid_until": to_dates[0]},
            }
    return pools


def redelivery_pools(api: Api) -> dict[str, dict]:
    """A webhook of its own (named by no other operation's draws) and POOL deliveries of it (test pings,
    queued): the redelivery draws the webhook and one of its deliveries together most of the time."""
    webhook = api.call("POST", "/api/v1/webhooks/", {"url": WEBHOOK_URL, "topics": ["hospital.1.beds"]})
    if not webhook:
        return {}
    pings = (api.call("POST", f"/api/v1/webhooks/{webhook['id']}/test/") for _ in range(POOL))
    deliveries = [delivery["id"] for delivery in pings if delivery]
    if not deliveries:
        return {}
    return {
        "api_v1_webhooks_deliveries_redeliver_create": {
            "path.id": [webhook["id"], webhook["id"]],
            "path.delivery_id": deliveries,
            "probability": FAVOURED,
        }
    }


def queue_pools(api: Api) -> dict[str, dict]:
    """A queue of its own (a doctor of its own, today) with POOL entries in consultation and POOL called ones
    (each done or start uses one up): done and start each draw the queue and one of their entries together
    most of the time (start had "missing test data" at seed 544964158, admin: its entries were waiting)."""
    doctor = new_doctor(api, "fuzzqueue")
    queue = doctor and api.call(
        "POST", "/api/v1/queues/", {"doctor_id": doctor["id"], "date": datetime.date.today().isoformat()}
    )
    if not queue:
        return {}
    path = f"/api/v1/queues/{queue['id']}"
    for number in range(1, 2 * POOL + 1):
        api.call("POST", f"{path}/entries/", {"name": f"Fuzz consultation {number}"})
    called = [entry["id"] for entry in (api.call("POST", f"{path}/call-next/", {}) for _ in range(2 * POOL)) if entry]
    started = [entry for entry in called[:POOL] if api.call("POST", f"{path}/entries/{entry}/start/", {})]
    pools = {}
    for operation, entries in (("done", started), ("start", called[POOL:])):
        if entries:
            pools[f"api_v1_queues_entries_{operation}_create"] = {
                "path.id": [queue["id"], queue["id"]],
                "path.entry_id": entries,
                "probability": FAVOURED,
            }
    return pools
