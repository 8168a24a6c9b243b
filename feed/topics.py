"""Which topics exist, who may follow each, and what its current state is (for `snapshot=true`).

The feed knows no domain: each domain app registers its own topics in its AppConfig.ready() with
`register()`, naming the rule that decides who may read it and the function that gives its current
state. The stream, the polling list and the tickets ask this registry only.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

from hms.api.roles import Role

MAX_TOPICS = 50
_ID = r"(?P<id>[1-9][0-9]{0,17})"


class TopicRefused(Exception):
    """A subscription refused: `status` 400 (unknown or malformed), 401 (sign-in needed) or 404 (hidden)."""

    def __init__(self, status: int, code: str, detail: str):
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail


@dataclass(frozen=True)
class TopicKind:
    template: str  # e.g. "hospital.{id}.beds"
    pattern: re.Pattern
    public: bool  # anyone may follow it (the rule still says which ids exist)
    allows: Callable  # allows(user | None, object_id | None) -> bool
    snapshot: Callable | None  # snapshot(user | None, object_id | None) -> dict
    derived: bool  # computed per subscriber (not stored in the feed), e.g. `dashboard`
    cached: bool = True  # a cached read follows it: its events replace that read's generation


@dataclass(frozen=True)
class Topic:
    name: str
    kind: TopicKind
    object_id: int | None

    def snapshot(self, user) -> dict:
        return self.kind.snapshot(user, self.object_id) if self.kind.snapshot else {}


_KINDS: dict[str, TopicKind] = {}


def register(
    template: str,
    *,
    public: bool,
    allows: Callable,
    snapshot: Callable | None = None,
    derived=False,
    cached=True,
):
    """Declare a topic such as `hospital.{id}.beds` (`{id}`: a positive integer). `cached=False`: no
    cached read follows it, so its events invalidate nothing (hms.api.readcache)."""
    pattern = re.compile("^" + re.escape(template).replace(re.escape("{id}"), _ID) + "$")
    _KINDS[template] = TopicKind(template, pattern, public, allows, snapshot, derived, cached)


def cached_topics(names) -> list[str]:
    """The topics among `names` that a cached read may follow (an unregistered name counts as one)."""
    followed = []
    for name in names:
        try:
            if parse(name).kind.cached:
                followed.append(name)
        except TopicRefused:
            followed.append(name)
    return followed


def kinds() -> list[TopicKind]:
    return list(_KINDS.values())


def parse(name: str) -> Topic:
    """The topic named `name`, or TopicRefused(400) for a name no registered topic matches."""
    if isinstance(name, str) and len(name) <= 100:
        for kind in _KINDS.values():
            match = kind.pattern.match(name)
            if match:
                object_id = match.groupdict().get("id")
                return Topic(name, kind, int(object_id) if object_id else None)
    shown = name[:100] if isinstance(name, str) else repr(name)[:100]
    raise TopicRefused(400, "unknown_topic", f"'{shown}' is not a topic of this feed.")


def split(raw) -> list[str]:
    """`a,b` (query string) or a list of names, de-duplicated in order; 400 when empty or too many."""
    names = raw.split(",") if isinstance(raw, str) else raw
    if not isinstance(names, list) or not names or not all(isinstance(name, str) for name in names):
        raise TopicRefused(400, "invalid_topics", "Name one or more topics, e.g. topics=hospital.1.beds.")
    names = list(dict.fromkeys(name.strip() for name in names if name.strip()))
    if not names:
        raise TopicRefused(400, "invalid_topics", "Name one or more topics, e.g. topics=hospital.1.beds.")
    if len(names) > MAX_TOPICS:
        raise TopicRefused(400, "invalid_topics", f"At most {MAX_TOPICS} topics can be followed at once.")
    return names


def authorize(user, names: list[str]) -> list[Topic]:
    """The topics `user` (None: anonymous) may follow, in order; raises TopicRefused for the first
    that is unknown (400), needs a signed-in caller (401) or is hidden from this one (404)."""
    parsed = [parse(name) for name in names]
    for topic in parsed:
        if user is None and not topic.kind.public:
            raise TopicRefused(401, "not_authenticated", f"Sign in to follow '{topic.name}'.")
        if not topic.kind.allows(user, topic.object_id):
            raise TopicRefused(404, "not_found", f"No topic '{topic.name}' is visible to you.")
    return parsed


# --- the feed's own topics --------------------------------------------------------------------


def user_topic(user_id: int) -> str:
    return f"user.{user_id}"


def register_own() -> None:
    register(
        "user.{id}",
        public=False,
        allows=lambda user, object_id: user is not None and user.pk == object_id,
        snapshot=lambda user, object_id: {"user_id": object_id},
        cached=False,  # a user's own events (bookings, notices) are never served from the read cache
    )


def is_signed_in(user, _object_id=None) -> bool:
    return user is not None and user.role in Role.values
