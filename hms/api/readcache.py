"""Expensive aggregate reads kept on the shared cache until the next committed write.

Every write the API makes is recorded in the audit log inside its transaction; `record()` calls
`writes_committed()` there, which replaces a *write generation* token on the shared cache once the
transaction commits (so a rolled-back write changes nothing, and no reader can store figures from
before a commit under the generation that follows it). `cached()` stores a result together with the
generation it read *before* computing it, and serves it only while that generation is current:
every reader gets figures at least as new as the last write acknowledged to any client, on every
worker and host. The time to live bounds what a write outside the API (a database console, say)
can leave unseen. The cache failing never fails a read: the figures are then computed directly.

The user behind an access token is kept under a second generation that only writes to accounts
(users, revoked tokens, audited user changes) replace, so bookings and bed changes leave it cached.
"""

import logging
import uuid

from django.apps import apps as global_apps
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections, transaction

logger = logging.getLogger(__name__)

GENERATION_KEY = "hms:write-generation"
# A second generation for what only accounts change (the user behind an access token): replaced by
# writes to these models (and audited writes of a user), not by every booking or bed change.
USERS_GENERATION_KEY = "hms:write-generation:users"
USER_MODELS = frozenset({"accounts.User", "accounts.RevokedAccessToken"})
# Saved on every request or audited read; they change no cached figure.
IGNORED_MODELS = frozenset({"accounts.Activity", "sessions.Session", "token_blacklist.OutstandingToken"})


def _replace(key: str) -> None:
    try:
        cache.set(key, uuid.uuid4().hex, timeout=None)
    except Exception:  # the write is committed already; a stale entry lives at most its time to live
        logger.warning("could not advance the write generation %s", key, exc_info=True)


def _new_generation() -> None:
    _replace(GENERATION_KEY)


def _new_users_generation() -> None:
    _replace(USERS_GENERATION_KEY)


def _once_on_commit(callback, using: str) -> None:
    # Once per transaction: a callback still pending from an earlier write of the same transaction
    # (not discarded by a savepoint rollback) covers this one too.
    connection = connections[using]
    if connection.in_atomic_block and any(func is callback for _sids, func, _robust in connection.run_on_commit):
        return
    transaction.on_commit(callback, using=using)


def writes_committed(using: str = DEFAULT_DB_ALIAS, *, users: bool = False) -> None:
    """Call inside a writing transaction: cached reads are invalidated when (and if) it commits.

    `users`: the write changes an account (or revokes a token): reads kept under the users'
    generation are invalidated too. Every write invalidates everything else.
    """
    _once_on_commit(_new_generation, using)
    if users:
        _once_on_commit(_new_users_generation, using)


def model_saved_or_deleted(sender, using=DEFAULT_DB_ALIAS, **kwargs) -> None:
    """post_save / post_delete receiver: writes outside the API services (the admin site) count too."""
    # Historical models (data migrations) live in their own app registry: a migration is no API write,
    # and the cache table may not exist yet.
    if sender._meta.apps is global_apps and sender._meta.label not in IGNORED_MODELS:
        writes_committed(using, users=sender._meta.label in USER_MODELS)


def cached(key: str, compute, *, seconds: int, still_valid=None, generation_key: str = GENERATION_KEY):
    """`compute()`, or its result stored under `key` since the last committed write (at most `seconds` old).

    `still_valid(result)`, when given, may refuse a stored result that the passing of time made wrong.
    `generation_key=USERS_GENERATION_KEY`: only writes to accounts invalidate it (for what depends on
    nothing else).
    """
    if seconds <= 0:
        return compute()
    try:
        found = cache.get_many([generation_key, key])
        generation = found.get(generation_key)
        if generation is None:
            cache.add(generation_key, uuid.uuid4().hex, timeout=None)
            generation = cache.get(generation_key)
        entry = found.get(key)
    except Exception:
        logger.warning("read cache unavailable; computing %s directly", key, exc_info=True)
        return compute()
    current = entry is not None and generation is not None and entry[0] == generation
    if current and (still_valid is None or still_valid(entry[1])):
        return entry[1]
    result = compute()
    if generation is not None:
        try:
            cache.set(key, (generation, result), timeout=seconds)
        except Exception:
            logger.warning("could not store %s in the read cache", key, exc_info=True)
    return result
