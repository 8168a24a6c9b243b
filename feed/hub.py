"""One reader of the feed per server process, handing each ready event to the local subscribers.

Every host reads the same table, so a client connected to host A receives the writes made on host
B. Each reader also publishes (numbers committed pending events; one publisher at a time across all
hosts). On PostgreSQL the NOTIFY sent at each writer's and each publisher's commit wakes every
reader at once; a slow poll (EVENTS_POLL_SECONDS) covers a lost LISTEN connection and SQLite.
No Redis is involved: the feed survives what the database survives.
"""

import asyncio
import contextlib
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from django.conf import settings
from django.db import close_old_connections, connection

from feed import reader

logger = logging.getLogger(__name__)

PAGE = 1000
# A subscriber this far behind is disconnected (it reconnects with Last-Event-ID and replays).
QUEUE_LIMIT = 10_000


def _in_thread(function, *args, **kwargs):
    # Long-lived threads: keep Django's connection handling of a request (CONN_MAX_AGE, health checks).
    close_old_connections()
    try:
        return function(*args, **kwargs)
    except Exception:
        connection.close()  # a broken connection is reopened by the next call
        raise


_io = ThreadPoolExecutor(max_workers=8, thread_name_prefix="feed-io")


async def in_thread(function, *args, **kwargs):
    """Run blocking (database) work for a stream off the event loop."""
    return await asyncio.get_running_loop().run_in_executor(_io, partial(_in_thread, function, *args, **kwargs))


class Subscriber:
    """The queue of one stream: the hub puts ready events of its topics (or all, for `everything`)."""

    def __init__(self):
        self.queue: asyncio.Queue = asyncio.Queue()
        self.topics: set[str] = set()
        self.everything = False
        self.overflowed = False

    def offer(self, message: dict) -> None:
        if self.overflowed:
            return
        if self.queue.qsize() >= QUEUE_LIMIT:
            self.overflowed = True
            self.queue.put_nowait(None)  # wakes the stream, which then closes
            return
        self.queue.put_nowait(message)


class Hub:
    def __init__(self):
        self.position: int | None = None
        self._by_topic: dict[str, set[Subscriber]] = {}
        self._everything: set[Subscriber] = set()
        self._loop = None
        self._ready = None
        self._wake = None
        self._tasks: list[asyncio.Task] = []
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="feed-hub")

    # --- subscribers (called on the event loop) ---------------------------------------------------

    async def ready(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop, self._ready, self._wake = loop, loop.create_future(), asyncio.Event()
            self._by_topic, self._everything = {}, set()
            self._tasks = [loop.create_task(self._run())]
        await asyncio.shield(self._ready)

    def subscribe(self, subscriber: Subscriber, topics, *, everything: bool = False) -> int:
        """Register; returns the position from which the hub hands events on (later ids only)."""
        for topic in topics:
            subscriber.topics.add(topic)
            self._by_topic.setdefault(topic, set()).add(subscriber)
        if everything:
            subscriber.everything = True
            self._everything.add(subscriber)
        return self.position

    def unsubscribe(self, subscriber: Subscriber, topics=None) -> None:
        for topic in list(subscriber.topics if topics is None else topics):
            subscriber.topics.discard(topic)
            holders = self._by_topic.get(topic)
            if holders is not None:
                holders.discard(subscriber)
                if not holders:
                    del self._by_topic[topic]
        if topics is None:
            self._everything.discard(subscriber)

    def wake(self) -> None:
        if self._wake is not None:
            self._wake.set()

    @property
    def subscriber_count(self) -> int:
        return len({s for holders in self._by_topic.values() for s in holders} | self._everything)

    # --- the reader ---------------------------------------------------------------------------------

    async def _db(self, function, *args, **kwargs):
        return await self._loop.run_in_executor(self._thread, partial(_in_thread, function, *args, **kwargs))

    async def _run(self) -> None:
        while True:
            try:
                self.position = await self._db(reader.position)
                break
            except Exception:
                logger.warning("change feed: database unavailable; retrying", exc_info=True)
                await asyncio.sleep(1)
        self._ready.set_result(None)
        if connection.vendor == "postgresql":
            self._tasks.append(self._loop.create_task(self._listen()))
        again = True
        while True:
            if not again:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=settings.EVENTS_POLL_SECONDS)
            self._wake.clear()
            try:
                published = await self._db(reader.publish, limit=PAGE)
                messages = await self._db(reader.read, self.position, limit=PAGE)
            except Exception:
                logger.warning("change feed: database unavailable; retrying", exc_info=True)
                await asyncio.sleep(1)
                again = True
                continue
            for message in messages:
                self._dispatch(message)
            # Another host was publishing (its commit wakes us, but it may have missed our writers'
            # latest commits), or there is more than a page: look again at once.
            again = published is None or published == PAGE or len(messages) == PAGE
            if published is None:
                await asyncio.sleep(0.01)

    def _dispatch(self, message: dict) -> None:
        from feed.session import Message

        message = Message(message)
        self.position = message["id"]
        for subscriber in self._by_topic.get(message["topic"], ()):
            subscriber.offer(message)
        for subscriber in self._everything:
            if message["topic"] not in subscriber.topics:
                subscriber.offer(message)

    async def _listen(self) -> None:
        import psycopg

        while True:
            try:
                async with await psycopg.AsyncConnection.connect(_conninfo(), autocommit=True) as listener:
                    await listener.execute(f"LISTEN {reader.NOTIFY_CHANNEL}")
                    self._wake.set()  # whatever committed while nobody listened
                    async for _notice in listener.notifies():
                        self._wake.set()
            except Exception:
                logger.warning("change feed: LISTEN connection lost; polling until it is back", exc_info=True)
                await asyncio.sleep(1)


def _conninfo() -> str:
    from psycopg.conninfo import make_conninfo

    db = settings.DATABASES["default"]
    parts = {
        "dbname": db.get("NAME"),
        "user": db.get("USER"),
        "password": db.get("PASSWORD"),
        "host": db.get("HOST"),
        "port": str(db.get("PORT") or ""),
        "connect_timeout": str(db.get("OPTIONS", {}).get("connect_timeout", 5)),
        "application_name": "hms-feed-listener",
    }
    return make_conninfo(**{key: value for key, value in parts.items() if value})


hub = Hub()


def monotonic() -> float:
    return time.monotonic()
