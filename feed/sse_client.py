"""A small Server-Sent Events reader for Python consumers of `/api/v1/events/stream` (the feed's live
tests and bin/faults.py use it): standard library only, no Django, so a script can import it.

    stream = SSE("http://127.0.0.1:8000/api/v1/events/stream?topics=hospital.1.slots", token=access)
    stream.wait_for(lambda events: any(e["type"] == "slot.changed" for e in events))

Each event is the frame's JSON data (the feed's envelope: id, topic, type, data, at) plus the frame's
`sse_id` and `event` fields; comment lines (heartbeats) are counted in `comments`.
"""

import http.client
import json
import threading
import time
from urllib.parse import urlsplit


class SSE:
    """Reads an event stream in a thread; `events` are the parsed frames, `comments` the comment lines.
    A refused stream (not 200) is read whole: `text` is its body, `body` that body as JSON (or None)."""

    def __init__(self, url: str, token: str | None = None, last_event_id: int | None = None, timeout: float = 30):
        parts = urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        headers = {"Accept": "text/event-stream"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        self.conn.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""), headers=headers)
        self.response = self.conn.getresponse()
        self.status = self.response.status
        self.headers = dict(self.response.getheaders())
        self.events: list[dict] = []
        self.comments = 0
        self.closed = threading.Event()
        self.text, self.body = "", None
        if self.status == 200:
            threading.Thread(target=self._read, daemon=True).start()
        else:
            self.text = self.response.read().decode(errors="replace")
            try:
                self.body = json.loads(self.text or "null")
            except ValueError:
                self.body = None
            self.closed.set()

    def _read(self) -> None:
        frame: dict = {}
        try:
            while True:
                line = self.response.readline()
                if not line:
                    break
                line = line.decode().rstrip("\n")
                if line.startswith(":"):
                    self.comments += 1
                elif line == "":
                    if "data" in frame:
                        self.events.append(
                            {"sse_id": frame.get("id"), "event": frame.get("event"), **json.loads(frame["data"])}
                        )
                    frame = {}
                else:
                    key, _, value = line.partition(": ")
                    frame[key] = value
        except (OSError, ValueError, AttributeError):  # AttributeError: closed under the reader
            pass
        finally:
            self.closed.set()

    def until(self, predicate, timeout: float = 10.0) -> bool:
        """True as soon as `predicate(events)` holds; False after `timeout` or once the stream has ended
        without it (no event can come after that)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ended = self.closed.is_set()
            if predicate(self.events):
                return True
            if ended:
                return False
            time.sleep(0.02)
        return False

    def wait_for(self, predicate, timeout: float = 10.0) -> list[dict]:
        """The events once `predicate(events)` holds; AssertionError when it does not in time."""
        if not self.until(predicate, timeout):
            raise AssertionError(f"stream did not get there in {timeout}s; it has {len(self.events)} events")
        return self.events

    def close(self) -> None:
        self.conn.close()
