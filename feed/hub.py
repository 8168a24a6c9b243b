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
from collections import deque
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
    """What the hub knows of one stream: its topics and how to hand it an event. With a `sink` (the
    stream is live, feed.sinks) an event of a topic past its floor is written to the connection at
    once; without one it waits in `pending` for the stream's task, which `waiter` wakes."""

    __slots__ = ("topics", "everything", "overflowed", "floors", "sink", "pending", "waiter")

    def __init__(self, floors: dict[str, int] | None = None):
        self.topics: set[str] = set()
        self.everything = False
        self.overflowed = False
        self.floors = {} if floors is None else floors  # topic -> the last id the stream has had
        self.sink = None
        self.pending: deque | None = None  # made at the first queued event: an idle stream holds none
        self.waiter: asyncio.Future | None = None

    def offer(self, message: dict) -> None:
        if self.overflowed:
            return
        sink = self.sink
        if sink is not None:
            floor = self.floors.get(message["topic"])
            if floor is not None and message["id"] > floor and not sink.write(message):
                self.overflow()
            return
        pending = self.pending
        if pending is None:
            pending = self.pending = deque()
        elif len(pending) >= QUEUE_LIMIT:
            self.overflow()
            return
        pending.append(message)
        self.wake()

    def overflow(self) -> None:
        """Too far behind: the stream's task closes it (the client reconnects with Last-Event-ID)."""
        self.overflowed, self.sink, self.pending = True, None, None
        self.wake()

    def wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self, timeout: float) -> None:
        """Until an event is queued, the stream overflowed, or `timeout` seconds pass."""
        if self.pending or self.overflowed or timeout <= 0:
            return
        self.waiter = waiter = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(timeout):  # a timer handle, not a task per wait
                await waiter
        except TimeoutError:
            pass
        finally:
            self.waiter = None


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
                published, messages = await self._db(_publish_and_read, self.position)
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
        topic = message["topic"]
        for subscriber in self._by_topic.get(topic, ()):
            subscriber.offer(message)
        for subscriber in self._everything:
            if topic not in subscriber.topics:
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


def _publish_and_read(position: int) -> tuple[int | None, list[dict]]:
    """One trip to the reader's thread: number what committed, then read past `position`."""
    return reader.publish(limit=PAGE), reader.read(position, limit=PAGE)


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
