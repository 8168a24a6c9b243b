"""Profile one endpoint in-process with pyinstrument (no HTTP, no concurrency).

Run against a seeded database (e.g. the benchmark's, kept in bench/.data/pg):

    DATABASE_URL=postgresql://postgres@127.0.0.1:PORT/hms .venv/bin/python bench/profile.py \\
        /api/v1/slots?available=true&hospital_id=1 --as patient [--requests 300] [--method POST --body '{}']

`--as` takes admin, patient or a username; the token is issued directly (no bcrypt login). Prints the
median wall and CPU time per request and pyinstrument's call tree of all requests together.
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hms.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from pyinstrument import Profiler  # noqa: E402

from accounts.models import User  # noqa: E402
from accounts.tokens import tokens_issue  # noqa: E402


def caller(name: str) -> User | None:
    if name == "anonymous":
        return None
    if name == "admin":
        return User.objects.filter(role=User.Role.ADMIN, is_active=True).order_by("id").first()
    if name == "patient":
        return User.objects.filter(username__startswith="bench.p", role=User.Role.USER).order_by("username").first()
    return User.objects.get(username=name)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("path")
    parser.add_argument("--as", dest="who", default="patient")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--method", default="GET")
    parser.add_argument("--body", default=None)
    parser.add_argument("--sql", action="store_true", help="print the SQL of one request")
    parser.add_argument("--no-profile", action="store_true", help="timings only")
    args = parser.parse_args()

    user = caller(args.who)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {tokens_issue(user=user)['access']}"} if user else {}
    client = Client(HTTP_HOST="127.0.0.1")

    def one():
        if args.method == "GET":
            return client.get(args.path, **headers)
        return client.generic(args.method, args.path, data=args.body or "", content_type="application/json", **headers)

    for _ in range(10):
        response = one()
    print(f"{args.method} {args.path} as {args.who}: {response.status_code}, {len(response.content)} bytes")
    with CaptureQueriesContext(connection) as captured:
        one()
    print(f"SQL queries: {len(captured.captured_queries)}")
    if args.sql:
        for query in captured.captured_queries:
            print(f"  {query['time']}s  {query['sql'][:400]}")

    walls, cpus = [], []
    for _ in range(args.requests):
        wall, cpu = time.perf_counter(), time.process_time()
        one()
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    print(f"median per request: wall {statistics.median(walls):.2f} ms, CPU {statistics.median(cpus):.2f} ms")
    if args.no_profile:
        return
    profiler = Profiler(interval=0.0002)
    profiler.start()
    for _ in range(args.requests):
        one()
    profiler.stop()
    print(profiler.output_text(unicode=False, color=False, show_all=False))
    if response.headers.get("Content-Type", "").startswith("application/json") and os.environ.get("SHOW_BODY"):
        print(json.dumps(response.json(), indent=1)[:3000])


if __name__ == "__main__":
    main()
