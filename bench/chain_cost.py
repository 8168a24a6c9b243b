"""What the audit log's hash chain costs a write, measured in the database alone (`make bench-chain`).

pgbench runs one-entry transactions (an INSERT into accounts_activity, as `record()` writes one) from 1
and from 8 clients for BENCH_CHAIN_SECONDS each, on a freshly migrated throwaway database, under three triggers,
alternated BENCH_CHAIN_ROUNDS times:

- `chain`: the trigger as shipped (accounts/audit_chain.py: a chain head locked with SKIP LOCKED, the
  entry hashed with sha256, the head moved on);
- `plain`: a trigger that gives the entry a position from a sequence and no hash (the same columns
  written, the same unique index maintained, no head row locked and no hash computed);
- `off`: no trigger (the entry has no position: NULLs in the unique index).

It prints transactions per second and mean latency per mode (medians of the rounds), and the chain's
cost per entry: with one client, mean latency `chain` minus `plain` (the time an entry adds to its
transaction); with eight, the latency difference (queueing included) and cores / tps (the machine's time
per entry, pgbench's own included). Run by bin/with-postgres (DATABASE_URL set).
"""

# ruff: noqa: S603 - runs this machine's own psql, pgbench and the project's venv only.
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
PG_BIN = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")
SECONDS = int(os.environ.get("BENCH_CHAIN_SECONDS", "10"))
ROUNDS = int(os.environ.get("BENCH_CHAIN_ROUNDS", "3"))
CLIENTS = (1, 8)  # one client: the time an entry adds; eight: what the chain's head rows do under concurrency
TRIGGER = "pgtrigger_activity_hash_chain_a886e"

INSERT = (
    "INSERT INTO accounts_activity (at, actor_role, actor_name, action, object_type, object_id, ip, request_id, "
    "detail, prev_hash, hash) VALUES (now(), 'user', 'Bench Patient', 'create', 'appointment', :id, "
    "'127.0.0.1', 'bench-request-id', '{\"slot_id\": 1, \"token_number\": 3}', '', '');\n"
)

# `plain`: positions from a sequence, no head row and no hash (what remains of the chain's work).
PLAIN_SQL = """
CREATE SEQUENCE IF NOT EXISTS bench_chain_plain_seq;
CREATE OR REPLACE FUNCTION bench_chain_plain() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.chain := 100 + pg_backend_pid() % 32;  -- apart from the real chains' positions
    NEW.chain_seq := nextval('bench_chain_plain_seq');
    RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS bench_chain_plain ON accounts_activity;
CREATE TRIGGER bench_chain_plain BEFORE INSERT ON accounts_activity FOR EACH ROW EXECUTE FUNCTION bench_chain_plain();
ALTER TABLE accounts_activity DISABLE TRIGGER bench_chain_plain;
"""

MODES = {
    "chain": (f"ALTER TABLE accounts_activity ENABLE TRIGGER {TRIGGER}", "DISABLE TRIGGER bench_chain_plain"),
    "plain": (f"ALTER TABLE accounts_activity DISABLE TRIGGER {TRIGGER}", "ENABLE TRIGGER bench_chain_plain"),
    "off": (f"ALTER TABLE accounts_activity DISABLE TRIGGER {TRIGGER}", "DISABLE TRIGGER bench_chain_plain"),
}


def psql(sql: str) -> str:
    return subprocess.run(
        [f"{PG_BIN}/psql", os.environ["DATABASE_URL"], "-v", "ON_ERROR_STOP=1", "-qAtc", sql],
        check=True,
        text=True,
        capture_output=True,
    ).stdout


def pgbench(script: Path, clients: int) -> tuple[float, float]:
    out = subprocess.run(
        [f"{PG_BIN}/pgbench", "-n", "-c", str(clients), "-j", str(min(clients, 2)), "-T", str(SECONDS)]
        + ["-f", str(script)]
        + [os.environ["DATABASE_URL"]],
        check=True,
        text=True,
        capture_output=True,
    ).stdout
    tps = float(re.search(r"tps = ([0-9.]+)", out).group(1))
    latency = float(re.search(r"latency average = ([0-9.]+) ms", out).group(1))
    return tps, latency


def main() -> None:
    env = {**os.environ, "HMS_TESTING": "0", "HMS_ENV_FILE": "/dev/null", "SECRET_KEY": "bench-" + "x" * 50}
    subprocess.run([PY, str(ROOT / "manage.py"), "migrate", "-v", "0"], check=True, env=env, cwd=ROOT)
    psql(PLAIN_SQL)
    with tempfile.TemporaryDirectory() as workdir:
        script = Path(workdir) / "insert.sql"
        script.write_text("\\set id random(1, 1000000)\n" + INSERT)
        results: dict[tuple[str, int], list[tuple[float, float]]] = {}
        for round_number in range(1, ROUNDS + 1):
            for clients in CLIENTS:
                for mode, (main_trigger, plain_trigger) in MODES.items():
                    psql(f"{main_trigger}; ALTER TABLE accounts_activity {plain_trigger}")
                    tps, latency = pgbench(script, clients)
                    results.setdefault((mode, clients), []).append((tps, latency))
                    print(f"  round {round_number}, {clients} client(s), {mode:5}: {tps:8.0f} tps, {latency:.3f} ms")
        psql(f"ALTER TABLE accounts_activity ENABLE TRIGGER {TRIGGER}")
        psql("DROP TRIGGER bench_chain_plain ON accounts_activity")
    hashed = psql("SELECT count(*) FROM accounts_activity WHERE chain IS NOT NULL AND hash <> ''").strip()
    print(f"\nOne-entry transactions, {SECONDS} s x {ROUNDS} rounds (medians); {hashed} hashed entries written.\n")
    print("| trigger | clients | transactions/s | mean latency ms |")
    print("|---|---:|---:|---:|")
    medians = {}
    for (mode, clients), runs in results.items():
        medians[mode, clients] = (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs))
        print(f"| {mode} | {clients} | {medians[mode, clients][0]:.0f} | {medians[mode, clients][1]:.3f} |")
    alone = medians["chain", 1][1] - medians["plain", 1][1]
    busy = CLIENTS[-1]
    later = medians["chain", busy][1] - medians["plain", busy][1]
    cores = os.cpu_count() or 1
    cpu = (cores / medians["chain", busy][0] - cores / medians["plain", busy][0]) * 1000  # ms
    print(f"\nThe chain's cost per entry: {alone:.3f} ms with one client (chain - plain latency); with {busy}")
    print(f"clients {later:.3f} ms of latency (queueing included), about {cpu:.3f} ms of the {cores} cores' time.")
    if not results:
        sys.exit(1)


if __name__ == "__main__":
    main()
