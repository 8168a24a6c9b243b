#!/usr/bin/env bash
# Production entrypoint: wait for the database, migrate (which also bootstraps the admin),
# collect static files, then exec gunicorn with WEB_CONCURRENCY workers.
#   deploy/entrypoint.sh            -> migrate + serve
#   deploy/entrypoint.sh --no-migrate (another host runs migrations)
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
  --max-requests "${GUNICORN_MAX_REQUESTS:-2000}" --max-requests-jitter 200 \
  --timeout "${GUNICORN_TIMEOUT:-30}" \
  --forwarded-allow-ips "${FORWARDED_ALLOW_IPS:-127.0.0.1}" \
  --access-logfile - ${GUNICORN_EXTRA_ARGS:-}
