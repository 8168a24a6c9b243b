"""`make bench-export`: a 200,000-row CSV export over HTTP (issue 20, exports).

On a throwaway PostgreSQL (bin/with-postgres): one blood bank holding EXPORT_ROWS stock lots (inserted
in one statement), gunicorn with one sync worker (deploy/gunicorn.conf.py, `--timeout` as production's
entrypoint sets it), then `GET /api/v1/blood-banks/{id}/lots?format=csv` as an admin, read as it
streams. Reports rows per second, bytes, time to the first byte, and the worker's resident memory
before the export and at its peak (VmHWM), against a JSON page of 100 rows of the same list.

    EXPORT_ROWS=200000 bin/with-postgres .venv/bin/python bench/export.py
"""

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

# ruff: noqa: S603, S607, S310 - this machine's own servers and the project's venv only.
from common import ROOT, django_setup, free_port, memory_kb, server_env  # bench/common.py

ROWS = int(os.environ.get("EXPORT_ROWS", "200000"))
TIMEOUT = os.environ.get("GUNICORN_TIMEOUT", "30")  # deploy/entrypoint.sh's default
ENV = server_env("bench-export-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz", LOG_LEVEL="WARNING")


def say(text: str) -> None:
    print(f"[export] {text}", flush=True)


def prepare() -> tuple[int, str]:
    """A bank with ROWS lots and an admin's access token."""
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from accounts.models import User
    from accounts.tokens import tokens_issue
    from bloodbank.models import BloodBank, StockLot

    admin = User.objects.create(username="export-admin", role="admin", email="admin@export.test", is_staff=True)
    bank = BloodBank.objects.create(name="Export bench bank", license_number="EXPORT-1", city="Bench")
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {StockLot._meta.db_table}
                (blood_bank_id, blood_group, component, units, initial_units, collected_on, expires_on,
                 lot_number, status, created_at)
            SELECT %s, 'A+', 'plasma', 1 + n %% 9, 10, CURRENT_DATE, CURRENT_DATE + 1 + n %% 300,
                   'LOT-' || n, 'available', now()
            FROM generate_series(1, %s) AS n""",  # noqa: S608 - the model's own table name
            [bank.pk, ROWS],
        )
        cursor.execute(f"ANALYZE {StockLot._meta.db_table}")
    say(f"{ROWS:,} lots inserted in {time.perf_counter() - started:.1f} s")
    return bank.pk, tokens_issue(user=admin)["access"]


def worker_pid(master: int) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.2)
    sys.exit("bench: no gunicorn worker")


def get(port: int, path: str, token: str, sink=None) -> tuple[int, int, float, float]:
    """(status, bytes, seconds to the first byte, seconds in all), reading 64 KiB at a time."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {token}"})
    started = time.perf_counter()
    first = None
    size = 0
    with urllib.request.urlopen(request, timeout=600) as response:
        while chunk := response.read(65536):
            first = first or time.perf_counter() - started
            size += len(chunk)
            if sink is not None:
                sink(chunk)
        status = response.status
    return status, size, first or 0.0, time.perf_counter() - started


def main() -> None:
    django_setup(ENV)
    bank_id, token = prepare()
    port = free_port()
    command = [
        str(ROOT / ".venv/bin/gunicorn"),
        "hms.wsgi:application",
        "-c",
        "deploy/gunicorn.conf.py",
        "-b",
        f"127.0.0.1:{port}",
        "-w",
        "1",
        "--timeout",
        TIMEOUT,
    ]
    (ROOT / "bench" / ".data").mkdir(exist_ok=True)
    log = open(ROOT / "bench" / ".data" / "export-gunicorn.log", "w")  # noqa: SIM115 - for the life of the server
    server = subprocess.Popen(command, cwd=ROOT, env=ENV, stdout=log, stderr=log)
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1).read()
                break
            except OSError:
                time.sleep(0.2)
        worker = worker_pid(server.pid)
        path = f"/api/v1/blood-banks/{bank_id}/lots"
        status, size, _, seconds = get(port, path + "?page_size=100", token)
        assert status == 200, status
        say(f"JSON page of 100 rows: {size:,} bytes in {seconds * 1000:.0f} ms")
        before = memory_kb(worker, "VmRSS")
        lines = 0

        def count(chunk: bytes) -> None:
            nonlocal lines
            lines += chunk.count(b"\n")  # reads split anywhere, "\r\n" too; lot numbers hold no newline

        status, size, first, seconds = get(port, path + "?format=csv", token, sink=count)
        peak = memory_kb(worker, "VmHWM")
        after = memory_kb(worker, "VmRSS")
        assert status == 200, status
        assert lines == ROWS + 1, (lines, ROWS)
        say(
            f"CSV export: {ROWS:,} rows, {size / 1e6:.1f} MB in {seconds:.1f} s = {ROWS / seconds:,.0f} rows/s "
            f"({size / 1e6 / seconds:.1f} MB/s); first byte after {first * 1000:.0f} ms"
        )
        say(
            f"worker RSS: {before / 1024:.1f} MB before, {after / 1024:.1f} MB after, peak (VmHWM) "
            f"{peak / 1024:.1f} MB: +{(peak - before) / 1024:.1f} MB for the export"
        )
    finally:
        server.terminate()
        server.wait(10)
        log.close()


if __name__ == "__main__":
    main()
