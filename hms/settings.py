"""HMS settings, read from the environment or a `.env` file (django-environ).

Every variable is listed in `.env.example`. Defaults are the safe ones: DEBUG off, security
flags on, SQLite only when DATABASE_URL is unset.
"""

import hashlib
import os
import sys
from datetime import timedelta
from pathlib import Path

import environ
from corsheaders.defaults import default_headers
from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key

from hms import __version__

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
TESTING = "pytest" in sys.modules or env.bool("HMS_TESTING", default=False)
if not TESTING:
    # Tests never read the developer's .env (its ADMIN_*, THROTTLE_* or security flags would change
    # what they see). HMS_ENV_FILE points elsewhere, e.g. /dev/null to use the environment only.
    environ.Env.read_env(env.str("HMS_ENV_FILE", default=str(BASE_DIR / ".env")), overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if DEBUG or TESTING:
        SECRET_KEY = get_random_secret_key()
    else:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it in the environment or in .env "
            "(make run writes a local .env with a random key)."
        )
JWT_SECRET_KEY = env.str("JWT_SECRET_KEY", default="") or SECRET_KEY
# Key rotation (accounts/signing_keys.py): tokens name their key in a `kid` header; retired keys stay
# accepted, as `kid:secret,...` in JWT_PREVIOUS_KEYS, for the lifetime of the tokens they signed.
JWT_KEY_ID = env.str("JWT_KEY_ID", default="") or "k" + hashlib.sha256(JWT_SECRET_KEY.encode()).hexdigest()[:8]
JWT_PREVIOUS_KEYS = dict(entry.split(":", 1) for entry in env.list("JWT_PREVIOUS_KEYS", default=[]) if ":" in entry)

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
# A browser front-end retries a booking safely only if it may send Idempotency-Key, resumes an event
# stream with Last-Event-ID, correlates with its own X-Request-ID (echoed when well-formed), and its
# scripts may read when to retry, the request id, and where a created record lives.
CORS_ALLOW_HEADERS = (*default_headers, "idempotency-key", "last-event-id", "x-request-id")
CORS_EXPOSE_HEADERS = ["Retry-After", "X-Request-ID", "Location"]
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
VERSION = __version__

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "drf_standardized_errors",
    "pgtrigger",
    "django_prometheus",
    "django_celery_beat",
    "hms.apps.HmsConfig",
    "accounts",
    "feed",
    "hospitals",
    "appointments",
    "bloodbank",
    "emergency",
    "transfers",
    "notifications",
    "webhooks",
    "dashboard",
    "fhir",
    "display",
]

METRICS_ENABLED = env.bool("METRICS_ENABLED", default=False)
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")

MIDDLEWARE = [
    "hms.api.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    # Under /fhir/R4, the errors of the middleware and handlers below as OperationOutcomes (API.md 18).
    "fhir.middleware.OperationOutcomeMiddleware",
    "hms.api.middleware.BodySizeLimitMiddleware",
    "hms.api.null_characters.NullCharacterMiddleware",  # %00 in path or query: 400 null_character
    # Sessions, Django's authentication and messages: for the Django admin's pages only (the API is
    # token-authenticated and keeps no session), hms.api.middleware.SitePagesOnly.
    "hms.api.middleware.SiteSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "hms.api.middleware.SiteAuthenticationMiddleware",
    "hms.api.middleware.SiteMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "hms.api.middleware.DatabaseUnavailableMiddleware",
]
if METRICS_ENABLED:
    MIDDLEWARE = (
        ["django_prometheus.middleware.PrometheusBeforeMiddleware"]
        + MIDDLEWARE
        + ["django_prometheus.middleware.PrometheusAfterMiddleware"]
    )

ROOT_URLCONF = "hms.urls"
APPEND_SLASH = False
WSGI_APPLICATION = "hms.wsgi.application"
ASGI_APPLICATION = "hms.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "hms" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions plus a busy timeout: concurrent writers queue instead of failing
    # with "database is locked"; WAL lets readers run beside the one writer.
    _db["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    _db.setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=600))
    _db.setdefault("CONN_HEALTH_CHECKS", True)
    _db.setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
    # Statements run through hms.api.db.prepared_cursor() (the booking) are prepared on their
    # second run on a connection; Django's own queries are never prepared. Turn off behind a
    # pooler in transaction mode that cannot keep prepared statements (PgBouncer before 1.21).
    _prepared = env.bool("DB_PREPARED_STATEMENTS", default=True)
    _db["OPTIONS"].setdefault("prepare_threshold", 1 if _prepared else None)
    _startup = []
    # The prepared statements are planned once and that plan kept (PostgreSQL's plan_cache_mode): left
    # to choose, PostgreSQL re-plans a statement on every run when a plan made for the values looks even
    # 1% cheaper, and planning costs more than running these statements (0.45 ms against 0.14 for a
    # page of bookable slots). Each of them finds its rows by ids or by an index whichever the values.
    # Behind a pooler that drops startup options, set it on the database role instead (ALTER ROLE ...
    # SET plan_cache_mode = force_generic_plan).
    if _prepared:
        _startup.append("-c plan_cache_mode=force_generic_plan")
    # A slow database or a lock held too long cancels the statement (503 `database_timeout`, nothing
    # changed) instead of holding a worker: on the connections of the web servers only (hms/wsgi.py,
    # hms/asgi.py), not of commands and jobs. Behind a pooler that refuses startup options, set it on
    # the database role instead (ALTER ROLE ... SET statement_timeout).
    DB_STATEMENT_TIMEOUT_MS = env.int("DB_STATEMENT_TIMEOUT_MS", default=10000)
    if DB_STATEMENT_TIMEOUT_MS and os.environ.get("HMS_SERVING_REQUESTS") == "1":
        _startup.append(f"-c statement_timeout={DB_STATEMENT_TIMEOUT_MS}")
    if _startup:
        _db["OPTIONS"].setdefault("options", " ".join(_startup))
    if _db["ENGINE"] == "django.db.backends.postgresql":
        # Django's backend with the kept connection's health checked by its socket, not by a SELECT 1
        # per request (hms/pg/base.py); under it, django-prometheus' with METRICS_ENABLED.
        _db["ENGINE"] = "hms.pg.metrics" if METRICS_ENABLED else "hms.pg"
# A streaming replica (README, "Read replica"): lag-tolerant public reads go there (hms/db_router.py),
# everything else to the primary. Unset (the default): one database, no router.
REPLICA_DATABASE_URL = env.str("REPLICA_DATABASE_URL", default="")
REPLICA_MAX_LAG_SECONDS = env.float("REPLICA_MAX_LAG_SECONDS", default=5.0)  # beyond it: reads on the primary
READ_YOUR_WRITES_SECONDS = env.int("READ_YOUR_WRITES_SECONDS", default=10)  # a writer reads the primary this long
if REPLICA_DATABASE_URL:
    _replica = env.db_url_config(REPLICA_DATABASE_URL)
    _replica.update({key: _db[key] for key in ("ENGINE", "CONN_MAX_AGE", "CONN_HEALTH_CHECKS") if key in _db})
    _replica["OPTIONS"] = {**_db.get("OPTIONS", {}), **_replica.get("OPTIONS", {})}
    _replica["TEST"] = {"MIRROR": "default"}  # pytest creates no second test database
    DATABASES["replica"] = _replica
    DATABASE_ROUTERS = ["hms.db_router.ReplicaRouter"]
    MIDDLEWARE = [*MIDDLEWARE, "hms.db_router.ReadYourWritesMiddleware"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (throttle counters, idempotency keys, login failures) ----------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    # Django's Redis backend, with one client per pool (hms/api/cache.py).
    CACHES = {"default": {"BACKEND": "hms.api.cache.RedisCache", "LOCATION": REDIS_URL}}
else:
    # The database cache is shared by every gunicorn worker and host; its table is created by
    # a migration (accounts 0002).
    # MAX_ENTRIES: Django's default (300) culls live keys alphabetically once exceeded, which would
    # drop login-failure counters under ordinary traffic; expired rows are deleted first.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "hms_cache",
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }

# --- Auth -----------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["accounts.backends.UsernameOrEmailBackend"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
if TESTING and not env.bool("TEST_REAL_HASHER", default=False):
    # bcrypt costs ~250 ms a hash; tests hash thousands of passwords. One test module checks
    # the real BCryptSHA256 hasher explicitly.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
ADMIN_EMAIL = env.str("ADMIN_EMAIL", default="")
ADMIN_PASSWORD = env.str("ADMIN_PASSWORD", default="")
ADMIN_USERNAME = env.str("ADMIN_USERNAME", default="admin")

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=env.int("JWT_ACCESS_TOKEN_EXPIRES", default=3600)),
    "REFRESH_TOKEN_LIFETIME": timedelta(seconds=env.int("JWT_REFRESH_TOKEN_EXPIRES", default=2592000)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": JWT_SECRET_KEY,
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    "LEEWAY": 0,
}

# --- REST framework -------------------------------------------------------------------------
TRUSTED_PROXIES = env.int("TRUSTED_PROXIES", default=0)
# The admin and hospital-admin dashboards are kept on the shared cache until the next committed write
# (hms.api.readcache), for at most this many seconds; 0 computes them on every request.
DASHBOARD_CACHE_SECONDS = env.int("DASHBOARD_CACHE_SECONDS", default=0 if TESTING else 30)
# The same for the hot light reads (the user behind an access token, bed availability, blood stock).
# A miss costs a cache round trip more than reading the database, and the database cache *is* the
# database: on by default only with Redis.
READ_CACHE_SECONDS = env.int("READ_CACHE_SECONDS", default=30 if REDIS_URL and not TESTING else 0)
THROTTLE_LOGIN_USERNAME = env.str("THROTTLE_LOGIN_USERNAME", default="5/15m")
THROTTLE_LOGIN_IP = env.str("THROTTLE_LOGIN_IP", default="20/15m")
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.JWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["hms.api.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["hms.api.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "hms.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": [
        "hms.api.filters.FilterBackend",
        "hms.api.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "hms.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "drf_standardized_errors.handler.exception_handler",
    "NUM_PROXIES": TRUSTED_PROXIES,
    "DEFAULT_THROTTLE_RATES": {
        "emergency_report": env.str("THROTTLE_EMERGENCY", default="10/min"),
        "booking": env.str("THROTTLE_BOOKING", default="60/min"),
        "register": env.str("THROTTLE_REGISTER", default="30/hour"),
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DATETIME_FORMAT": "iso-8601",
    "COERCE_DECIMAL_TO_STRING": False,
}
DRF_STANDARDIZED_ERRORS = {
    "EXCEPTION_HANDLER_CLASS": "hms.api.exceptions.ExceptionHandler",
    "ALLOWED_ERROR_STATUS_CODES": ["400", "401", "403", "404", "405", "406", "409", "413", "415", "429", "500", "503"],
    "ERROR_SCHEMAS": {
        code: f"hms.api.schema.ErrorResponse{code}Serializer"
        for code in ["400", "401", "403", "404", "405", "406", "409", "413", "415", "429", "500", "503"]
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "HMS API",
    # The conventions and the choices made where API.md is silent, for API users.
    "DESCRIPTION": (BASE_DIR / "hms" / "api" / "openapi_description.md").read_text(encoding="utf-8"),
    "VERSION": __version__,
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ValidationErrorEnum": "drf_standardized_errors.openapi_serializers.ValidationErrorEnum.choices",
        "ClientErrorEnum": "drf_standardized_errors.openapi_serializers.ClientErrorEnum.choices",
        "ServerErrorEnum": "drf_standardized_errors.openapi_serializers.ServerErrorEnum.choices",
        "RoleEnum": "accounts.models.UserRole",
        "BedStatusEnum": "hospitals.models.BedStatus",
        "AmbulanceStatusEnum": "emergency.models.AmbulanceStatus",
        "EmergencyStatusEnum": "emergency.models.EmergencyStatus",
        "SlotStatusEnum": "appointments.models.SlotStatus",
        "AppointmentStatusEnum": "appointments.models.AppointmentStatus",
        "HoldStatusEnum": "appointments.models.HoldStatus",
        "WaitlistStatusEnum": "appointments.waitlist_models.WaitlistStatus",
        "JobRunTriggerEnum": "hms.models.JobRunTrigger",
        "JobScheduleSourceEnum": "hms.jobs.schedules.ScheduleSource",
        "QueueEntryStatusEnum": "appointments.queue_models.QueueEntryStatus",
        "QueueEntryPriorityEnum": "appointments.queue_models.QueueEntryPriority",
        "ReferralStatusEnum": "transfers.models.ReferralStatus",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_standardized_errors.openapi_hooks.postprocess_schema_enums",
        "hms.api.schema.mark_seed_aliases_deprecated",
        "hms.api.schema_links.add_links",
        "hms.api.schema_constraints.add_constraints",
    ],
}

# --- Limits ---------------------------------------------------------------------------------
MAX_REQUEST_BODY_BYTES = 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY_BYTES

# --- Security -------------------------------------------------------------------------------
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if TRUSTED_PROXIES:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# /health answers plain http for load balancers and container health checks.
SECURE_REDIRECT_EXEMPT = [r"^health/?$", r"^health/ready/?$"]

# --- I18n, static ---------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
# FHIR R4 (API.md section 18): the system of the identifiers the /fhir/R4 resources carry.
FHIR_IDENTIFIER_SYSTEM = env.str("FHIR_IDENTIFIER_SYSTEM", default="https://hms.example/fhir/id")
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if TESTING
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG or TESTING

# --- Logging: JSON lines to stdout, with the request id ---------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "hms.api.logging.RequestIdFilter"}},
    "formatters": {"json": {"()": "hms.api.logging.JsonFormatter"}},
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "json",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        "django.request": {"level": "ERROR"},
        "django.security.DisallowedHost": {"level": "ERROR"},
    },
}

# Notifications, scheduling, webhooks, jobs and the change feed (API.md sections 15-17).
from hms.settings_live import *  # noqa: E402, F403
