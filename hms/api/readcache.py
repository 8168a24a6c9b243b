"""Expensive reads kept on the shared cache until a committed write changes what they show.

A write replaces *generation* tokens on the shared cache once its transaction commits (so a
rolled-back write changes nothing, and no reader can store figures from before a commit under the
generation that follows it). `cached()` stores a result together with the generations it read
*before* computing it, and serves it only while they are current: every reader gets figures at least
as new as the last write acknowledged to any client, on every worker and host. The time to live
bounds what a write outside the API (a database console, say) can leave unseen. The cache failing
never fails a read: the figures are then computed directly.

Generations are kept per *topic* (the change feed's topics, e.g. `hospital.7.beds`, and a few of the
cache's own, e.g. `hospital.7` for the hospital row): a read names the topics its answer depends on,
and a write replaces the generations of the topics it changes: `emit()` does for each event, and
saves and deletes of models do through `model_topics()` declarations. A booking in one hospital thus
leaves another hospital's availability, stock and slot pages cached. Reads that span everything
(dashboards, lists across hospitals) name no topic and depend on every write; writes of unknown
scope (a model that declares nothing) invalidate every read.

The user behind an access token is kept under a generation that only writes to accounts (users,
revoked tokens, audited user changes) replace, so bookings and bed changes leave it cached.
"""

import functools
import logging
import uuid

from django.apps import apps as global_apps
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from hms.db_router import replica_used

logger = logging.getLogger(__name__)

GENERATION_KEY = "hms:write-generation"  # replaced by every committed write
# Replaced by writes whose scope is not known (a model without declared topics, a console, seed data).
UNSCOPED_KEY = "hms:write-generation:unscoped"
# A second generation for what only accounts change (the user behind an access token): replaced by
# writes to these models (and audited writes of a user), not by every booking or bed change.
USERS_GENERATION_KEY = "hms:write-generation:users"
USER_MODELS = frozenset({"accounts.User", "accounts.RevokedAccessToken"})
# Saved on every request, audited read, token refresh or stream ticket; they change no cached figure.
IGNORED_MODELS = frozenset(
    {
        "accounts.Activity",
        "sessions.Session",
        "token_blacklist.OutstandingToken",
        "token_blacklist.BlacklistedToken",
        "feed.PendingEvent",
        "feed.Event",
        "feed.FeedState",
        "feed.StreamTicket",
    }
)
# model label -> function(instance) -> the topics a save or delete of that row changes.
_MODEL_TOPICS: dict = {}


def topic_key(topic: str) -> str:
    return f"hms:write-generation:topic:{topic}"


def model_topics(model, topics_of) -> None:
    """Declare which topics a save or delete of `model` changes (`topics_of(instance)`, possibly
    none); writes to models that declare nothing invalidate every cached read."""
    _MODEL_TOPICS[model._meta.label] = topics_of


def _replace(keys) -> None:
    try:
        cache.set_many({key: uuid.uuid4().hex for key in keys}, timeout=None)
    except Exception:  # the write is committed already; a stale entry lives at most its time to live
        logger.warning("could not advance the write generations %s", sorted(keys), exc_info=True)


def _flush(connection) -> None:
    keys = connection.__dict__.pop("_hms_generations", set())
    if keys:
        _replace(keys)


def _after_commit(keys: set[str], using: str) -> None:
    connection = connections[using]
    if not connection.in_atomic_block:
        _replace(keys)
        return
    # Connections are per thread: the keys wait on the connection wrapper, flushed by one callback per
    # transaction (a callback still pending from an earlier write of the transaction covers this one).
    flush = connection.__dict__.get("_hms_flush")
    if flush is None:
        flush = connection.__dict__["_hms_flush"] = functools.partial(_flush, connection)
    pending = connection.__dict__.setdefault("_hms_generations", set())
    if not any(func is flush for _sids, func, _robust in connection.run_on_commit):
        pending.clear()  # left by a transaction that rolled back (its callback went with it)
        transaction.on_commit(flush, using=using)
    pending.update(keys)


def writes_committed(using: str = DEFAULT_DB_ALIAS, *, users: bool = False, topics=None) -> None:
    """Call inside a writing transaction: cached reads are invalidated when (and if) it commits.

    `topics`: the topics the write changes (reads of other topics stay cached); `()` for none (only
    reads that depend on every write, such as dashboards, are invalidated); None when unknown
    (every cached read is invalidated). `users`: the write changes an account or revokes a token.
    """
    keys = {GENERATION_KEY}
    if users:
        keys.add(USERS_GENERATION_KEY)
    if topics is None:
        keys.add(UNSCOPED_KEY)
    else:
        keys.update(topic_key(topic) for topic in topics)
    _after_commit(keys, using)


def model_saved_or_deleted(sender, using=DEFAULT_DB_ALIAS, instance=None, **kwargs) -> None:
    """post_save / post_delete receiver: writes outside the API services (the admin site) count too."""
    # Historical models (data migrations) live in their own app registry: a migration is no API write,
    # and the cache table may not exist yet.
    label = sender._meta.label
    if sender._meta.apps is not global_apps or label in IGNORED_MODELS:
        return
    if label in USER_MODELS:
        writes_committed(using, users=True, topics=())
    elif label in _MODEL_TOPICS:
        writes_committed(using, topics=_MODEL_TOPICS[label](instance))
    else:
        writes_committed(using)


def cached(key: str, compute, *, seconds: int, still_valid=None, generation_key: str = GENERATION_KEY, topics=None):
    """`compute()`, or its result stored under `key` since the last committed write (at most `seconds` old).

    `topics`, when given: only writes to those topics (or of unknown scope) invalidate it, so a
    booking in one hospital leaves another's figures cached. `still_valid(result)`, when given, may
    refuse a stored result that the passing of time made wrong. `generation_key=USERS_GENERATION_KEY`:
    only writes to accounts invalidate it (for what depends on nothing else).
    """
    if seconds <= 0:
        return compute()
    keys = [UNSCOPED_KEY, *(topic_key(topic) for topic in topics)] if topics is not None else [generation_key]
    try:
        found = cache.get_many([*keys, key])
        generations = []
        for generation_key_ in keys:
            generation = found.get(generation_key_)
            if generation is None:
                cache.add(generation_key_, uuid.uuid4().hex, timeout=None)
                generation = cache.get(generation_key_)
            generations.append(generation)
        generations = tuple(generations)
        entry = found.get(key)
    except Exception:
        logger.warning("read cache unavailable; computing %s directly", key, exc_info=True)
        return compute()
    current = entry is not None and None not in generations and entry[0] == generations
    if current and (still_valid is None or still_valid(entry[1])):
        return entry[1]
    result = compute()
    # A result read on a lagging replica may predate the generation it would be stored under.
    if None not in generations and not replica_used():
        try:
            cache.set(key, (generations, result), timeout=seconds)
        except Exception:
            logger.warning("could not store %s in the read cache", key, exc_info=True)
    return result
