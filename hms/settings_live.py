"""Part two's settings: notifications, scheduling, webhooks, scheduled jobs and the change feed
(API.md sections 15-17), read from the environment like the rest (every variable in `.env.example`).

Imported at the end of hms/settings.py, whose environment reader, paths and cache choice it uses.
"""

import contextlib
from pathlib import Path

from hms.settings import BASE_DIR, DATABASES, REDIS_URL, env

# --- Notifications (API.md section 16) -------------------------------------------------------
# E-mail through Django's backend: SMTP in production (EMAIL_HOST, ...), the console locally.
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="HMS <no-reply@hms.example>")
# The file backend (django.core.mail.backends.filebased.EmailBackend) writes one file per connection here.
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(BASE_DIR / "var" / "mail"))
# Hours before an appointment's start at which its patient is reminded.
REMINDER_HOURS = sorted({int(hours) for hours in env.list("REMINDER_HOURS", default=["24", "2"])}, reverse=True)
NOTIFY_MAX_ATTEMPTS = env.int("NOTIFY_MAX_ATTEMPTS", default=5)
NOTIFY_BACKOFF_SECONDS = env.int("NOTIFY_BACKOFF_SECONDS", default=60)  # doubled after each failed attempt
# A claimed delivery whose worker died is sent by another this many seconds after the claim.
NOTIFY_LEASE_SECONDS = env.int("NOTIFY_LEASE_SECONDS", default=300)
# SMS: console (stdout), file (one JSON line per message appended to SMS_FILE_PATH) or http (a JSON POST
# of {"to", "text"} to SMS_HTTP_URL with `Authorization: Bearer SMS_HTTP_TOKEN`).
SMS_BACKEND = env.str("SMS_BACKEND", default="console")
SMS_FILE_PATH = env.str("SMS_FILE_PATH", default=str(BASE_DIR / "var" / "sms.log"))
SMS_HTTP_URL = env.str("SMS_HTTP_URL", default="")
SMS_HTTP_TOKEN = env.str("SMS_HTTP_TOKEN", default="")

# --- Scheduling (API.md section 17) ---------------------------------------------------------
# How long a slot hold keeps its seat while the patient confirms.
HOLD_MINUTES = env.int("HOLD_MINUTES", default=5)
# How long a waitlist offer (a hold on a freed seat) waits for the patient before passing on.
WAITLIST_OFFER_MINUTES = env.int("WAITLIST_OFFER_MINUTES", default=15)

# --- Webhooks (API.md section 16) --------------------------------------------------------------
# Let webhook URLs reach loopback/private/link-local addresses (local development and tests only;
# cloud metadata addresses stay refused). https stays required either way.
WEBHOOKS_ALLOW_PRIVATE = env.bool("WEBHOOKS_ALLOW_PRIVATE", default=False)
# A CA bundle (PEM) to verify endpoints' certificates with instead of the system's (empty: system CAs),
# e.g. an internal CA, or the tests' self-signed local server.
WEBHOOKS_CA_BUNDLE = env.str("WEBHOOKS_CA_BUNDLE", default="")
WEBHOOKS_TIMEOUT_SECONDS = env.float("WEBHOOKS_TIMEOUT_SECONDS", default=10.0)  # a 2xx within it = delivered
WEBHOOKS_RETRY_HOURS = env.int("WEBHOOKS_RETRY_HOURS", default=24)  # retry a delivery at least this long
WEBHOOKS_DEACTIVATE_AFTER_HOURS = env.int("WEBHOOKS_DEACTIVATE_AFTER_HOURS", default=72)  # of continuous failure
# A claimed delivery whose worker died goes out again after this (never sooner than two sends' time).
WEBHOOKS_LEASE_SECONDS = env.float("WEBHOOKS_LEASE_SECONDS", default=120.0)

# --- Scheduled jobs (API.md section 16): Celery worker + beat, hms/jobs -----------------------
# Production: Redis (redis://...). Default: REDIS_URL when set, else kombu's filesystem transport
# under var/celery (one machine, no server to install; `make run`). The filesystem broker does not
# redeliver a message whose worker died; beat sends every job again at its next tick anyway.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
_CELERY_FOLDER = Path(env.str("CELERY_FILESYSTEM_DIR", default=str(BASE_DIR / "var" / "celery")))
if CELERY_BROKER_URL.startswith("filesystem://"):
    for _sub in ("queue", "processed", "control"):
        with contextlib.suppress(OSError):  # a read-only tree (an image using Redis never needs them)
            (_CELERY_FOLDER / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_CELERY_FOLDER / "queue"),
        "data_folder_out": str(_CELERY_FOLDER / "queue"),
        "processed_folder": str(_CELERY_FOLDER / "processed"),
        "store_processed": False,
        "control_folder": str(_CELERY_FOLDER / "control"),
    }
else:
    # Redis: a message taken by a worker that died is delivered again after this many seconds (it
    # must exceed the longest job; a job delivered twice only repeats idempotent work).
    # CELERY_RESTORE_INTERVAL: seconds between a worker's sweeps for such messages (tests lower both).
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
        "unacked_restore_interval": env.int("CELERY_RESTORE_INTERVAL", default=60),
        "unacked_restore_throttle": 1,
    }
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = env.str("TIME_ZONE", default="UTC")
# Runs of each job kept in JobRun (the Django admin, /api/v1/system/status).
JOB_RUNS_RETENTION_DAYS = env.int("JOB_RUNS_RETENTION_DAYS", default=14)
# A booked appointment not checked in this many minutes after its slot's end becomes a no-show.
NO_SHOW_GRACE_MINUTES = env.int("NO_SHOW_GRACE_MINUTES", default=60)
# Slots of every active OPD schedule are kept generated this many days ahead (at most 90).
OPD_ROLLING_DAYS = env.int("OPD_ROLLING_DAYS", default=28)

# --- Change feed (API.md section 15) --------------------------------------------------------
EVENTS_RETENTION_HOURS = env.int("EVENTS_RETENTION_HOURS", default=72)
# How often each server's reader looks at the feed when nothing woke it (PostgreSQL wakes it at
# every commit through LISTEN/NOTIFY; SQLite has no such signal).
_SQLITE = DATABASES["default"]["ENGINE"].endswith("sqlite3")
EVENTS_POLL_SECONDS = env.float("EVENTS_POLL_SECONDS", default=0.25 if _SQLITE else 1.0)
EVENTS_HEARTBEAT_SECONDS = env.float("EVENTS_HEARTBEAT_SECONDS", default=15.0)
# A stream re-checks its token and user this often (revoked or deactivated -> closed).
EVENTS_AUTH_RECHECK_SECONDS = env.float("EVENTS_AUTH_RECHECK_SECONDS", default=30.0)
