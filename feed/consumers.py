"""`/ws/v1/events`: the feed over WebSocket (section 15), one session per connection.

Close codes: 4400 a message that is not what the protocol says, 4401 not (or no longer)
authenticated, 4404 a hidden topic, 1013 too far behind (reconnect with last_event_id).
"""

import asyncio
import json
import logging

from django.conf import settings
from rest_framework.exceptions import AuthenticationFailed

from feed import topics
from feed.hub import in_thread
from feed.session import Principal, Session, dumps, principal_from_token
from feed.sinks import sink_for

logger = logging.getLogger(__name__)

AUTH_WITHIN_SECONDS = 10
MAX_MESSAGE_BYTES = 16 * 1024
CLOSE_FOR_STATUS = {400: 4400, 401: 4401, 404: 4404}


class ProtocolError(Exception):
    def __init__(self, close_code: int, code: str, detail: str):
        super().__init__(detail)
        self.close_code, self.code, self.detail = close_code, code, detail


class EventsConsumer:
    """One WebSocket connection, as a plain ASGI application (`EventsConsumer.as_asgi()`).

    Not a Channels consumer: with no channel layer to listen to, a consumer only added a task, a
    copied scope and an instance dictionary to every open connection. This one holds a few slots;
    its connection runs in the server's task, plus one small task (`_pump`) that queued events,
    the token re-check and a client too far behind wake.
    """

    __slots__ = ("base_send", "session", "send_lock", "closed", "sink", "pump", "auth_timer")

    def __init__(self, send):
        self.base_send = send
        self.session = Session(Principal())
        self.send_lock = asyncio.Lock()
        self.closed = False
        self.sink = self.pump = self.auth_timer = None

    @classmethod
    def as_asgi(cls):
        async def application(scope, receive, send):
            await cls(send).run(receive)

        return application

    async def run(self, receive) -> None:
        try:
            while True:
                message = await receive()
                kind = message["type"]
                if kind == "websocket.receive":
                    await self.receive(message.get("text"), message.get("bytes"))
                elif kind == "websocket.connect":
                    await self.connect()
                elif kind == "websocket.disconnect":
                    return
        finally:
            self.disconnect()

    async def connect(self):
        await self.base_send({"type": "websocket.accept"})
        self.sink = sink_for(self.base_send)  # the hub writes live events to the socket itself
        self.pump = asyncio.create_task(self._pump())
        self.auth_timer = asyncio.get_running_loop().call_later(AUTH_WITHIN_SECONDS, self._require_auth)

    def disconnect(self):
        self.closed = True
        for pending in (self.pump, self.auth_timer):
            if pending is not None:
                pending.cancel()
        self.session.close()

    async def send(self, text_data: str) -> None:
        await self.base_send({"type": "websocket.send", "text": text_data})

    async def close(self, code: int) -> None:
        await self.base_send({"type": "websocket.close", "code": code})

    async def receive(self, text_data=None, bytes_data=None):
        try:
            await self._handle(self._parse(text_data, bytes_data))
        except ProtocolError as error:
            await self._close_with(error.close_code, error.code, error.detail)
        except Exception:
            logger.exception("websocket message failed")
            await self._close_with(1011, "server_error", "The server could not handle this message; reconnect.")

    def _parse(self, text_data, bytes_data) -> dict:
        if text_data is None or len(text_data) > MAX_MESSAGE_BYTES:
            raise ProtocolError(4400, "invalid_message", "Send JSON objects as text frames of at most 16 KiB.")
        try:
            message = json.loads(text_data)
        except ValueError:
            raise ProtocolError(4400, "invalid_message", "The message is not JSON.") from None
        if not isinstance(message, dict) or message.get("action") not in ("auth", "subscribe", "unsubscribe"):
            raise ProtocolError(
                4400, "invalid_message", "Each message is an object with an action: auth, subscribe or unsubscribe."
            )
        return message

    async def _handle(self, message: dict) -> None:
        action = message["action"]
        if action == "auth":
            token = message.get("token")
            if not isinstance(token, str) or not token or len(token) > 4096:
                raise ProtocolError(4400, "invalid_message", "auth needs a token (an access token).")
            try:
                principal = await in_thread(principal_from_token, token)
            except AuthenticationFailed as error:
                raise ProtocolError(4401, "not_authenticated", str(error.detail)) from None
            if self.session.principal.user is not None and self.session.principal.user.pk != principal.user.pk:
                raise ProtocolError(4400, "invalid_message", "This connection is signed in as another user.")
            self.session.principal = principal
            return
        names = self._topic_names(message)
        if action == "unsubscribe":
            async with self.send_lock:
                self.session.remove(names)
                await self.send(text_data=dumps({"type": "subscribed", "topics": self.session.topics}))
                self.session.go_live(self.sink)  # e.g. once no derived topic is left
            return
        last_event_id = message.get("last_event_id")
        if last_event_id is not None and (type(last_event_id) is not int or last_event_id < 0):
            raise ProtocolError(4400, "invalid_message", "last_event_id is an event id (a whole number).")
        try:
            parsed = await in_thread(topics.authorize, self.session.principal.user, names)
        except topics.TopicRefused as error:
            raise ProtocolError(CLOSE_FOR_STATUS[error.status], error.code, error.detail) from None
        async with self.send_lock:
            self.session.hold()  # the new topics' replay goes first; live events wait until it is sent
            first = await self.session.add(parsed, last_event_id=last_event_id, snapshot=bool(message.get("snapshot")))
            await self.send(text_data=dumps({"type": "subscribed", "topics": self.session.topics}))
            for event in first:
                await self.send(text_data=dumps(event))
            self.session.go_live(self.sink)

    def _topic_names(self, message: dict) -> list[str]:
        try:
            return topics.split(message.get("topics"))
        except topics.TopicRefused as error:
            raise ProtocolError(4400, error.code, error.detail) from None

    async def _send(self, message: dict) -> None:
        async with self.send_lock:
            if not self.closed:
                await self.send(text_data=dumps(message))

    async def _close_with(self, close_code: int, code: str, detail: str) -> None:
        if self.closed:
            return
        await self._send({"type": "error", "code": code, "detail": detail})
        self.closed = True
        await self.close(code=close_code)

    def _require_auth(self) -> None:
        self.auth_timer = None
        if self.session.principal.user is None and not self.session.topics and not self.closed:
            self.pump.cancel()  # it would not send again: the connection closes
            self.pump = asyncio.create_task(
                self._close_with(4401, "not_authenticated", "Authenticate (or subscribe to public topics) within 10 s.")
            )

    async def _pump(self) -> None:
        """Sends what the hub queued (a live session with a sink gets its events from the hub
        directly: then this only wakes to re-check the token and to close a client too far behind)."""
        while not self.closed:
            await self.session.wait(settings.EVENTS_AUTH_RECHECK_SECONDS)
            if self.session.overflowed:
                await self._close_with(1013, "too_slow", "Too many events unread; reconnect with last_event_id.")
                return
            async with self.send_lock:  # taken under the lock: a subscription's replay is never overtaken
                for message in await self.session.drain():
                    if not self.closed:
                        await self.send(text_data=dumps(message))
            if not await self.session.still_valid():
                await self._close_with(4401, "not_authenticated", "The access token expired or was revoked.")
                return
