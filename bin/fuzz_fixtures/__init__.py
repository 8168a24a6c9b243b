"""Records for the schema-driven fuzzer (bin/fuzz), run through bin/fuzz-fixtures.

seed_demo writes hospitals, wards, beds, doctors, slots, blood banks and ambulances, but no blood
requests, emergencies, referrals, queues, waitlist entries, webhooks, leaves, holds, admissions,
donations or notifications. Without them every operation on one of those records answers 404 to
the fuzzer ("missing test data", issue 22). This script makes a few of each, through the API as the
fuzz administrator (the same rules and side effects as a client), in fresh tables, so their ids are
1, 2, 3, ...: the ids schemathesis.toml's `seed-ids` dictionary draws from. Notifications have no
create endpoint (the feed consumer writes them), so they are written with the notifications service.
Fuzz-only: it is run by bin/fuzz against its throwaway database, never elsewhere. A record it cannot
make is reported and skipped (the fuzzer then only sees 404s there), not fatal.

Modules: base (the API client, counts, one-record helpers), database (ORM writes: accounts, victims,
notifications, started slots), records (the records 1..7 and the run's pools), transitions, creators and
patient (the pools), copies (each role's copies of the schema and of schemathesis.toml).
"""
