#!/usr/bin/env bash
# Production entrypoint: wait for the database, migrate (which also bootstraps the admin),
# collect static files, then exec gunicorn with WEB_CONCURRENCY workers.
#   deploy/entrypoint.sh            -> migrate + serve
#   deploy/entrypoint.sh --no-migrate (another host runs migrations)
#   deploy/entrypoint.sh stream     -> the change feed's SSE and WebSocket server (uvicorn, ASGI):
#                                      the proxy routes /api/v1/events/stream and /ws/ to it
#   deploy/entrypoint.sh worker     -> the scheduled jobs' Celery worker (CELERY_CONCURRENCY, default 2)
#   deploy/entrypoint.sh beat       -> Celery beat, schedules from the database (django-celery-beat):
#                                      run one (a second one only sends every job twice; harmless)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python )}
GUNICORN=${GUNICORN:-$( [ -x .venv/bin/gunicorn ] && echo .venv/bin/gunicorn || echo gunicorn )}
BIND=${BIND:-0.0.0.0:8000}
WORKERS=${WEB_CONCURRENCY:-4}
WAIT_SECONDS=${DB_WAIT_SECONDS:-60}

echo "entrypoint: waiting up to ${WAIT_SECONDS}s for the database"
"$PYTHON" - "$WAIT_SECONDS" <<'PY'
import os, sys, time
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hms.settings")
import django
django.setup()
from django.db import connection
deadline = time.monotonic() + float(sys.argv[1])
while True:
    try:
        connection.ensure_connection()
        break
    except Exception as exc:  # noqa: BLE001 - any connection failure means "not yet"
        if time.monotonic() > deadline:
            sys.exit(f"entrypoint: database not reachable: {exc.__class__.__name__}")
        time.sleep(1)
PY

if [ "${1:-}" = "stream" ]; then
  # Long-lived connections: no request timeout; each worker holds its streams and one feed reader.
  # httptools and websockets-sansio: behind these the feed writes live events to the socket itself
  # (feed/sinks.py); another implementation works, at about twice the CPU per event and connection.
  UVICORN=${UVICORN:-$( [ -x .venv/bin/uvicorn ] && echo .venv/bin/uvicorn || echo uvicorn )}
  exec "$UVICORN" hms.asgi:application \
    --host "${BIND%:*}" --port "${BIND##*:}" \
    --workers "${STREAM_WORKERS:-2}" \
    --proxy-headers --forwarded-allow-ips "${FORWARDED_ALLOW_IPS:-127.0.0.1}" \
    --timeout-keep-alive 75 --limit-concurrency "${STREAM_MAX_CONNECTIONS:-5000}" \
    --http httptools --ws websockets-sansio --ws-per-message-deflate false \
    --no-access-log
fi

CELERY=${CELERY:-$( [ -x .venv/bin/celery ] && echo .venv/bin/celery || echo celery )}
if [ "${1:-}" = "worker" ]; then
  exec "$CELERY" -A hms worker --concurrency "${CELERY_CONCURRENCY:-2}" --loglevel "${LOG_LEVEL:-INFO}" \
    --without-gossip --without-mingle
fi
if [ "${1:-}" = "beat" ]; then
  exec "$CELERY" -A hms beat --scheduler django_celery_beat.schedulers:DatabaseScheduler \
    --pidfile= --loglevel "${LOG_LEVEL:-INFO}"
fi

if [ "${1:-}" != "--no-migrate" ]; then
  "$PYTHON" manage.py migrate --noinput
fi
"$PYTHON" manage.py collectstatic --noinput -v 0

# Prometheus metrics aggregated across workers.
if [ "${METRICS_ENABLED:-false}" = "true" ] || [ "${METRICS_ENABLED:-}" = "1" ]; then
  export PROMETHEUS_MULTIPROC_DIR=${PROMETHEUS_MULTIPROC_DIR:-$(mktemp -d /tmp/hms-metrics.XXXXXX)}
  rm -f "$PROMETHEUS_MULTIPROC_DIR"/*.db
fi

exec "$GUNICORN" hms.wsgi:application \
  --config deploy/gunicorn.conf.py \
  --bind "$BIND" \
  --workers "$WORKERS" \
  --worker-tmp-dir /dev/shm \
  --max-requests "${GUNICORN_MAX_REQUESTS:-20000}" --max-requests-jitter "${GUNICORN_MAX_REQUESTS_JITTER:-2000}" \
  --timeout "${GUNICORN_TIMEOUT:-30}" \
  --forwarded-allow-ips "${FORWARDED_ALLOW_IPS:-127.0.0.1}" \
  --access-logfile - ${GUNICORN_EXTRA_ARGS:-}
