# HMS: `make run` serves the API on SQLite with demo data; `make test` runs everything on PostgreSQL.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: run test lint format venv migrate bench bench-push bench-export bench-mixed bench-chain fuzz race clean

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip >/dev/null 2>&1 || true
	$(PIP) install -q -r requirements.txt
	touch $@

venv: $(VENV)/.installed

.env:
	@echo "Writing a local .env (random SECRET_KEY, DEBUG off, plain http on localhost)"
	@printf '%s\n' \
	  "SECRET_KEY=$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))')" \
	  "DEBUG=false" \
	  "ALLOWED_HOSTS=localhost,127.0.0.1" \
	  "SECURE_SSL_REDIRECT=false" \
	  "SECURE_HSTS_SECONDS=0" \
	  "SESSION_COOKIE_SECURE=false" \
	  "CSRF_COOKIE_SECURE=false" \
	  "ADMIN_USERNAME=admin" \
	  "ADMIN_EMAIL=admin@hms.local" \
	  "ADMIN_PASSWORD=Admin-Pass-2026" > .env

migrate: venv .env
	$(PY) manage.py migrate --noinput

run: venv .env migrate
	@if $(PY) manage.py help seed_demo >/dev/null 2>&1; then $(PY) manage.py seed_demo; \
	  else echo "Admin login: see ADMIN_USERNAME / ADMIN_PASSWORD in .env"; fi
	$(PY) manage.py collectstatic --noinput -v 0
	@echo "Serving http://$(HOST):$(PORT)  (docs: http://$(HOST):$(PORT)/api/docs)"
	@echo "Live: /api/v1/events/stream (SSE) and /ws/v1/events (WebSocket) on the same port"
	@echo "Scheduled jobs: a Celery worker and beat run beside it (bin/run-all; README \"Scheduled jobs\")"
	bin/run-all $(VENV)/bin/uvicorn hms.asgi:application --host $(HOST) --port $(PORT) --workers $${WEB_CONCURRENCY:-2} \
	  --ws websockets-sansio --ws-per-message-deflate false

# Everything on throwaway PostgreSQL servers: the multi-host races, the database-outage run, the
# backup/restore check, the read replica check and schema-driven fuzzing, then the whole pytest suite
# last, so that its summary line ends the output (with PYTEST_ARGS: pytest only).
test: venv
	@if [ -z "$(PYTEST_ARGS)" ]; then $(MAKE) --no-print-directory race faults chaos backup-check replica-check fuzz audit-deps; fi
	bin/ensure-chromium && HMS_TESTING=1 bin/with-postgres $(PY) -m pytest $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) staticfiles db.sqlite3*

fuzz: venv
	HMS_TESTING=0 bin/with-postgres bin/fuzz

# Known vulnerabilities in requirements.lock (pip-audit, in its own venv under var/). In `make test` a
# machine that cannot reach the vulnerability service prints NOT AUDITED and goes on; `make audit`
# fails then too.
.PHONY: audit-deps audit
audit-deps:
	bin/audit-deps
audit:
	AUDIT_STRICT=1 bin/audit-deps

# requirements.lock, pinned with hashes at .venv's versions (production installs: the Dockerfile). After
# changing requirements.txt: make venv && make lock (hms/tests/test_requirements_lock.py checks the two agree).
.PHONY: lock
lock: venv
	bin/lock

race: venv
	HMS_TESTING=0 bin/with-postgres bin/race

# Soak (not part of make test): SOAK_SECONDS (default 1800) of mixed traffic over two gunicorn hosts and a
# stream server on one PostgreSQL; 0 x 5xx, flat worker RSS, bounded connections, stable p99, race invariants.
.PHONY: soak
soak: venv
	HMS_TESTING=0 bin/with-postgres bin/soak

.PHONY: faults chaos backup-check
# Redis killed and started again empty under gunicorn: reads, throttled writes and Idempotency-Keys (bin/chaos).
chaos: venv
	HMS_TESTING=0 bin/with-postgres bin/chaos

faults: venv
	HMS_TESTING=0 bin/with-postgres bin/faults

backup-check: venv
	HMS_TESTING=0 bin/with-postgres bin/backup-restore

# A pg_basebackup -R streaming standby beside the throwaway primary, gunicorn with REPLICA_DATABASE_URL:
# public reads on the standby, read-your-writes, lag bound, status, fallback when it stops (bin/replica-check).
.PHONY: replica-check
replica-check: venv
	HMS_TESTING=0 bin/with-postgres bin/replica-check

bench: venv
	bench/run.sh

# The change feed under load: 1,000 SSE + 1,000 WebSocket clients while bookings run (bench/push.py).
bench-push: venv
	HMS_TESTING=0 bin/with-postgres $(PY) bench/push.py

# A 200,000-row CSV export over HTTP from one gunicorn worker: rows/s and the worker's peak RSS (bench/export.py).
bench-export: venv
	HMS_TESTING=0 bin/with-postgres $(PY) bench/export.py

# What the audit log's hash chain costs one write, in the database alone: pgbench with the chain's trigger,
# a plain numbering trigger and none (bench/chain_cost.py; a throwaway PostgreSQL, about 2 minutes).
bench-chain: venv
	HMS_TESTING=0 bin/with-postgres $(PY) bench/chain_cost.py

# Reads over random hospitals (scale 0.1) while bookings and cancellations run at 10/s and 50/s
# (bench/mixed.py); its own throwaway PostgreSQL, kept in bench/.data/pg-mixed (seeded data reused).
bench-mixed: venv
	PG_KEEP_DIR=$(CURDIR)/bench/.data/pg-mixed HMS_TESTING=0 timeout --signal=TERM --kill-after=30s \
	  $${BENCH_TIMEOUT:-20m} bin/with-postgres $(PY) bench/mixed.py
