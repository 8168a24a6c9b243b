"""What the SSE stream and the WebSocket share: who is listening, and the events they receive.

A session registers its topics with the hub first and only then replays from the database the
events up to the position the hub had reached: replayed ids are at most that position, live ones
above it, so nothing is missed and nothing is sent twice.
"""

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone
from rest_framework.exceptions import AuthenticationFailed

from accounts.models import RevokedAccessToken, User
from accounts.tokens import VERSION_CLAIM
from feed import reader
from feed.hub import Subscriber, hub, in_thread, monotonic
from feed.models import StreamTicket
from feed.topics import Topic

REPLAY_PAGE = 500


class _Encoder(DjangoJSONEncoder):
    def default(self, o):
        if isinstance(o, datetime):
            return o.isoformat().replace("+00:00", "Z")
        return super().default(o)


class Message(dict):
    """An event as the hub hands it to every subscriber: encoded once, however many streams send it."""

    _text: str | None = None
    _frame: bytes | None = None  # SSE
    _chunk: bytes | None = None  # SSE, as an HTTP/1.1 chunk (feed.sinks)
    _websocket: bytes | None = None  # a WebSocket text frame


def dumps(message: dict) -> str:
    if isinstance(message, Message):
        if message._text is None:
            message._text = json.dumps(message, cls=_Encoder, separators=(",", ":"))
        return message._text
    return json.dumps(message, cls=_Encoder, separators=(",", ":"))


def sse_frame(message: dict) -> bytes:
    """`id:` / `event:` / `data:` lines of one event (section 15)."""
    frame = getattr(message, "_frame", None)
    if frame is None:
        frame = f"id: {message['id']}\nevent: {message['type']}\ndata: {dumps(message)}\n\n".encode()
        if isinstance(message, Message):
            message._frame = frame
    return frame


def websocket_frame(message: dict) -> bytes:
    """One unmasked WebSocket text frame (RFC 6455 5.2) carrying the event, as a server sends it."""
    frame = getattr(message, "_websocket", None)
    if frame is None:
        payload = dumps(message).encode()
        size = len(payload)
        if size < 126:
            head = bytes((0x81, size))
        elif size < 1 << 16:
            head = bytes((0x81, 126)) + size.to_bytes(2, "big")
        else:
            head = bytes((0x81, 127)) + size.to_bytes(8, "big")
        frame = head + payload
        if isinstance(message, Message):
            message._websocket = frame
    return frame


# --- who is listening ---------------------------------------------------------------------------


@dataclass
class Principal:
    """The signed-in user behind a stream (None: anonymous, public topics only) and the token it rests on."""

    user: User | None = None
    token_jti: str = ""
    token_expires_at: datetime | None = None
    auth_version: int | None = None

    def expired(self) -> bool:
        return self.token_expires_at is not None and self.token_expires_at <= timezone.now()

    def still_valid(self) -> bool:
        """Blocking: false once the token expired, was revoked, the password changed or the user went."""
        if self.user is None:
            return True
        if self.expired():
            return False
        version = User.objects.filter(pk=self.user.pk, is_active=True).values_list("auth_version", flat=True).first()
        if version is None or version != self.auth_version:
            return False
        return not RevokedAccessToken.objects.filter(jti=self.token_jti).exists()


def principal_from_token(raw: str) -> Principal:
    """Blocking: the principal behind an access token, or AuthenticationFailed (the API's own check)."""
    from types import SimpleNamespace

    from accounts.authentication import JWTAuthentication

    found = JWTAuthentication().authenticate(SimpleNamespace(META={"HTTP_AUTHORIZATION": f"Bearer {raw}"}))
    if found is None:
        raise AuthenticationFailed("An access token is required.", code="not_authenticated")
    user, token = found
    return Principal(
        user=user,
        token_jti=str(token.get("jti", "")),
        token_expires_at=datetime.fromtimestamp(int(token["exp"]), tz=UTC),
        auth_version=token.get(VERSION_CLAIM),
    )


def _digest(ticket: str) -> str:
    return hashlib.sha256(ticket.encode()).hexdigest()


def ticket_issue(*, principal: Principal, topics: list[str]) -> tuple[str, datetime]:
    """Blocking: a one-use ticket for `topics`, valid 60 s, for a stream that ends when the token would."""
    ticket = secrets.token_urlsafe(32)
    expires_at = timezone.now() + timezone.timedelta(seconds=60)
    StreamTicket.objects.filter(expires_at__lt=timezone.now() - timezone.timedelta(hours=1)).delete()
    StreamTicket.objects.create(
        digest=_digest(ticket),
        user=principal.user,
        topics=topics,
        token_jti=principal.token_jti,
        token_expires_at=principal.token_expires_at,
        auth_version=principal.auth_version or 0,
        expires_at=expires_at,
    )
    return ticket, expires_at


def ticket_redeem(ticket: str) -> tuple[Principal, list[str]]:
    """Blocking: spend a ticket (once: a conditional UPDATE, so two redeemers never both win)."""
    now = timezone.now()
    digest = _digest(ticket) if isinstance(ticket, str) and len(ticket) <= 100 else ""
    spent = StreamTicket.objects.filter(digest=digest, used_at__isnull=True, expires_at__gt=now).update(used_at=now)
    found = StreamTicket.objects.filter(digest=digest).select_related("user").first() if spent else None
    if found is None or not found.user.is_active:
        raise AuthenticationFailed("The ticket is unknown, used or expired.", code="invalid_ticket")
    principal = Principal(
        user=found.user,
        token_jti=found.token_jti,
        token_expires_at=found.token_expires_at,
        auth_version=found.auth_version,
    )
    return principal, list(found.topics)


# --- what they receive ----------------------------------------------------------------------------


class Session:
    """One stream's topics, what it has had of each, and how its events reach it.

    Until `go_live()` (and again while `hold()` is in force) the hub queues its events and the
    stream's task sends them (`wait()`, then `drain()`); once live, with a sink (feed.sinks) and no
    derived topic, the hub writes each event to the connection itself and the task only wakes for
    heartbeats, the token re-check and a client too far behind.
    """

    __slots__ = ("principal", "subscriber", "floors", "derived", "_derived_due", "_derived_dirty", "_recheck_at")

    def __init__(self, principal: Principal):
        self.principal = principal
        self.floors: dict[str, int] = {}  # topic -> the last id it has had (replayed or skipped)
        self.subscriber = Subscriber(self.floors)
        self.derived: dict[str, Topic] = {}  # e.g. `dashboard`: computed for this user
        self._derived_due = 0.0
        self._derived_dirty = False
        self._recheck_at = monotonic() + settings.EVENTS_AUTH_RECHECK_SECONDS

    @property
    def overflowed(self) -> bool:
        return self.subscriber.overflowed

    @property
    def topics(self) -> list[str]:
        return sorted(set(self.floors) | set(self.derived))

    async def add(self, topics: list[Topic], *, last_event_id: int | None, snapshot: bool) -> list[dict]:
        """Follow `topics`; returns what to send before live events: a `reset`, the replay, snapshots.

        Live events of these topics wait in the queue until `go_live()`: call `hold()` first when
        the session is already live."""
        await hub.ready()
        stored = [topic.name for topic in topics if not topic.kind.derived]
        derived = [topic for topic in topics if topic.kind.derived]
        position = hub.subscribe(self.subscriber, stored, everything=bool(derived or self.derived))
        for topic in derived:
            self.derived[topic.name] = topic
        floor = position if last_event_id is None else max(position, last_event_id)
        for name in stored:
            self.floors[name] = floor
        first: list[dict] = []
        if last_event_id is not None and stored:
            if last_event_id < await in_thread(reader.pruned_through):
                first.append(self._message(position, ",".join(stored), "reset", {"reason": "retention"}))
            elif last_event_id < position:
                first.extend(await self._replay(stored, after=last_event_id, upto=position))
        if snapshot:
            for topic in topics:
                data = await in_thread(topic.snapshot, self.principal.user)
                first.append(self._message(position, topic.name, "snapshot", data))
        return first

    async def _replay(self, topics: list[str], *, after: int, upto: int) -> list[dict]:
        replayed: list[dict] = []
        while True:
            page = await in_thread(reader.read, after, topics=topics, upto=upto, limit=REPLAY_PAGE)
            replayed.extend(page)
            if len(page) < REPLAY_PAGE:
                return replayed
            after = page[-1]["id"]

    def remove(self, names: list[str]) -> None:
        stored = [name for name in names if name in self.floors]
        hub.unsubscribe(self.subscriber, stored)
        for name in names:
            self.floors.pop(name, None)
            self.derived.pop(name, None)
        if not self.derived and self.subscriber.everything:
            self.subscriber.everything = False
            hub._everything.discard(self.subscriber)

    def close(self) -> None:
        self.subscriber.sink = None
        hub.unsubscribe(self.subscriber)

    def _message(self, event_id: int, topic: str, type_: str, data: dict) -> dict:
        return {"id": event_id, "at": timezone.now(), "topic": topic, "type": type_, "data": data}

    # --- delivery ---------------------------------------------------------------------------------

    def hold(self) -> None:
        """Queue live events again (e.g. while a new subscription's replay is sent): `go_live()` ends it."""
        self.subscriber.sink = None

    def go_live(self, sink) -> None:
        """Everything sent so far is on the connection: the queued events go to `sink` now, and the
        hub writes later ones to it directly. Without a sink, or while a derived topic needs this
        session's task to see every event, events stay queued for `drain()`."""
        subscriber = self.subscriber
        if sink is None or self.derived or subscriber.overflowed:
            return
        for message in self._queued():
            if not sink.write(message):
                subscriber.overflow()
                return
        subscriber.sink = sink

    def _queued(self) -> list[dict]:
        pending = self.subscriber.pending
        if not pending:
            return []
        self.subscriber.pending = None
        if self.derived:
            self._derived_dirty = True
        floors = self.floors
        return [m for m in pending if (floor := floors.get(m["topic"])) is not None and m["id"] > floor]

    async def wait(self, timeout: float) -> None:
        """Until something is queued, the derived topics are due, the client fell too far behind, or `timeout`."""
        if self._derived_dirty:
            timeout = min(timeout, self._derived_due - monotonic())
        await self.subscriber.wait(timeout)

    async def drain(self) -> list[dict]:
        """What to send now, in id order: the queued events, then (at most once a second, after a
        change) the derived topics' state."""
        ready = self._queued()
        if self._derived_dirty and monotonic() >= self._derived_due:
            self._derived_dirty = False
            self._derived_due = monotonic() + 1.0
            ready.append(await self._derived_message())
        return ready

    async def _derived_message(self) -> dict:
        name, topic = next(iter(self.derived.items()))
        data = await in_thread(topic.snapshot, self.principal.user)
        return self._message(hub.position or 0, name, f"{name}.changed", data)

    async def still_valid(self) -> bool:
        """Re-checked at most every EVENTS_AUTH_RECHECK_SECONDS (and at once after the token's expiry)."""
        if self.principal.user is None:
            return True
        if self.principal.expired():
            return False
        if monotonic() < self._recheck_at:
            return True
        self._recheck_at = monotonic() + settings.EVENTS_AUTH_RECHECK_SECONDS
        return await in_thread(self.principal.still_valid)
