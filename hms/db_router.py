"""Reads on a streaming replica, only where a view says a few seconds' lag is fine (README, "Read replica").

Configured by `REPLICA_DATABASE_URL` (hms/settings.py adds the `replica` alias, this router and the
middleware below only then). Everything goes to the primary (`default`) except queries made inside an
opt-in scope: a view's safe-method handler decorated with `@replica_reads("list", "retrieve")`, i.e.
public, lag-tolerant reads. Inside it, reads still go to the primary:

- inside a transaction on the primary (`in_atomic_block`: what a transaction reads must be what it
  writes against);
- for an authenticated caller who made a successful unsafe request within READ_YOUR_WRITES_SECONDS
  (read-your-writes). The marker is kept on the shared cache keyed by user id, not in a signed cookie:
  API clients send bearer tokens and often keep no cookies, and the cache is shared by every worker
  and host, so the next read sees it whichever host serves it;
- when the replica's measured lag exceeds REPLICA_MAX_LAG_SECONDS, or it cannot be reached (the probe
  is cached per process: LAG_CHECK_SECONDS while reachable, DOWN_RECHECK_SECONDS after a failure). A
  read that fails on the replica mid-request (it stopped since the probe) is answered again from the
  primary;
- when the standby has lost its link to the primary (no WAL receiver streaming): it has then replayed
  all it received, so a lag computed from what it received reads 0 while the primary moves on; its
  lag is unknown (None) and it is not used.

The authentication of the request (token, user row) happens before the scope opens, on the primary.
Cache tables (the database cache backend) are always read on the primary. Plumbing: imports no app.
"""

import contextlib
import contextvars
import functools
import logging
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections

logger = logging.getLogger(__name__)

REPLICA = "replica"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LAG_CHECK_SECONDS = 1.0
DOWN_RECHECK_SECONDS = 5.0
PRIMARY_ONLY_APPS = frozenset({"django_cache"})  # the database cache backend's table
# (a standby?, its WAL receiver's status, lag). pg_stat_wal_receiver has no row without a WAL receiver
# (the link to the primary lost, or being re-established); its status is NULL for a role without
# pg_read_all_stats, which only sees that a receiver runs ('hidden': taken as streaming).
LAG_SQL = """
SELECT pg_is_in_recovery(),
       (SELECT coalesce(status, 'hidden') FROM pg_stat_wal_receiver LIMIT 1),
       CASE WHEN NOT pg_is_in_recovery() THEN 0
            WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
            ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END
"""
RECEIVING = frozenset({"streaming", "hidden"})


@dataclass(frozen=True)
class ReplicaHealth:
    reachable: bool
    lag_seconds: float | None  # None: unreachable, link lost, or no transaction replayed yet while behind
    link_lost: bool = False  # reachable, but its WAL receiver is not streaming from the primary

    @property
    def usable(self) -> bool:
        return (
            self.reachable
            and not self.link_lost
            and self.lag_seconds is not None
            and self.lag_seconds <= settings.REPLICA_MAX_LAG_SECONDS
        )


class _Scope:
    __slots__ = ("allowed", "used")

    def __init__(self, allowed: bool):
        self.allowed, self.used = allowed, False


_scope: contextvars.ContextVar[_Scope | None] = contextvars.ContextVar("hms_replica_scope", default=None)
_health_lock = threading.Lock()
_health: tuple[float, ReplicaHealth] | None = None  # (monotonic time of the check, its result)


def replica_configured() -> bool:
    return REPLICA in connections.settings


def measure_replica(connection) -> ReplicaHealth:
    """Ask the replica (an alias or a connection) how far behind it is: 0 when it has replayed all it
    received while its WAL receiver streams, None (and `link_lost`) when it receives nothing."""
    if isinstance(connection, str):
        connection = connections[connection]
    try:
        if connection.vendor != "postgresql":
            connection.ensure_connection()
            return ReplicaHealth(reachable=True, lag_seconds=0.0)
        with connection.cursor() as cursor:
            cursor.execute(LAG_SQL)
            in_recovery, receiver, lag = cursor.fetchone()
    except Exception:
        logger.warning("read replica unreachable; reads go to the primary", exc_info=True)
        with contextlib.suppress(Exception):  # a half-open connection: the next probe reconnects
            connection.close()
        return ReplicaHealth(reachable=False, lag_seconds=None)
    if in_recovery and receiver not in RECEIVING:
        return ReplicaHealth(reachable=True, lag_seconds=None, link_lost=True)
    return ReplicaHealth(reachable=True, lag_seconds=None if lag is None else round(float(lag), 3))


def replica_health(*, fresh: bool = False) -> ReplicaHealth | None:
    """The replica's reachability and lag, measured at most once per LAG_CHECK_SECONDS per process;
    None when no replica is configured."""
    global _health
    if not replica_configured():
        return None
    now = time.monotonic()
    with _health_lock:
        if not fresh and _health is not None:
            checked_at, health = _health
            if now - checked_at < (LAG_CHECK_SECONDS if health.reachable else DOWN_RECHECK_SECONDS):
                return health
    health = measure_replica(REPLICA)
    with _health_lock:
        if health.link_lost and (_health is None or not _health[1].link_lost):
            logger.warning("read replica receives no WAL from the primary (link lost); reads go to the primary")
        _health = (time.monotonic(), health)
    return health


def _mark_unreachable() -> None:
    global _health
    with _health_lock:
        _health = (time.monotonic(), ReplicaHealth(reachable=False, lag_seconds=None))


def _wrote_key(user_id) -> str:
    return f"hms:replica:wrote:{user_id}"


def wrote_recently(user) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    try:
        return cache.get(_wrote_key(user.pk)) is not None
    except Exception:  # the cache down: the primary is never wrong
        return True


def replica_allowed(user) -> bool:
    """May the reads of this request go to the replica (checked when the opt-in scope opens)?"""
    if not replica_configured() or connections[DEFAULT_DB_ALIAS].in_atomic_block or wrote_recently(user):
        return False
    health = replica_health()
    return health is not None and health.usable


def replica_used() -> bool:
    """Did a query of the current request go to the replica? (The read cache stores no such result.)"""
    scope = _scope.get()
    return scope is not None and scope.used


@contextlib.contextmanager
def replica_scope(user):
    """The opt-in scope: reads inside it may go to the replica if `replica_allowed(user)`."""
    scope = _Scope(allowed=replica_allowed(user))
    token = _scope.set(scope)
    try:
        yield scope
    finally:
        _scope.reset(token)


def replica_reads(*handlers: str):
    """Class decorator for a view: its named safe-method handlers (`list`, `retrieve`, `get`) may read
    on the replica. One line where the view is declared: `@replica_reads("list", "retrieve")`."""

    def decorate(view_class):
        for name in handlers:
            setattr(view_class, name, _in_replica_scope(getattr(view_class, name)))
        return view_class

    return decorate


def _in_replica_scope(handler):
    @functools.wraps(handler)
    def wrapper(self, request, *args, **kwargs):
        # DRF authenticated the caller before calling the handler (on the primary).
        if request.method not in SAFE_METHODS or _scope.get() is not None or not replica_configured():
            return handler(self, request, *args, **kwargs)
        with replica_scope(request.user) as scope:
            try:
                return handler(self, request, *args, **kwargs)
            except (OperationalError, InterfaceError):
                if not scope.used:
                    raise
                # The replica went away (or cancelled the query on a recovery conflict): the primary answers.
                logger.warning("read on the replica failed; answering from the primary", exc_info=True)
                _mark_unreachable()
                with contextlib.suppress(Exception):
                    connections[REPLICA].close()
                scope.allowed = False
                return handler(self, request, *args, **kwargs)

    return wrapper


class ReplicaRouter:
    """Writes, migrations and every read outside an opt-in scope: the primary."""

    def db_for_read(self, model, **hints):
        scope = _scope.get()
        if (
            scope is None
            or not scope.allowed
            or model._meta.app_label in PRIMARY_ONLY_APPS
            or connections[DEFAULT_DB_ALIAS].in_atomic_block
        ):
            return DEFAULT_DB_ALIAS
        scope.used = True
        return REPLICA

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the same data on both

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db != REPLICA


class ReadYourWritesMiddleware:
    """After a successful unsafe request by an authenticated user, that user reads from the primary for
    READ_YOUR_WRITES_SECONDS (a marker on the shared cache, keyed by user id)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.method not in SAFE_METHODS and response.status_code < 400:
            user = getattr(request, "user", None)  # DRF sets the user it authenticated on the request
            if getattr(user, "is_authenticated", False):
                try:
                    cache.set(_wrote_key(user.pk), 1, timeout=settings.READ_YOUR_WRITES_SECONDS)
                except Exception:
                    logger.warning("could not mark user %s as a recent writer", user.pk, exc_info=True)
        return response
