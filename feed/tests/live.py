"""Real servers and real clients for the feed's tests: uvicorn processes on the test database, an SSE
reader and a WebSocket client (no mock of the transport)."""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url() -> str:
    db = connection.settings_dict
    user = quote(db.get("USER") or "")
    password = f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    return f"postgresql://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


class Host:
    """One ASGI server process (uvicorn, like production's stream servers) on the test database."""

    def __init__(self, **env):
        self.port = free_port()
        self.env = {
            **os.environ,
            "HMS_TESTING": "1",
            "DATABASE_URL": database_url(),
            "SECRET_KEY": settings.SECRET_KEY,
            "JWT_SECRET_KEY": settings.SIMPLE_JWT["SIGNING_KEY"],
            "EVENTS_AUTH_RECHECK_SECONDS": "1",
            "EVENTS_HEARTBEAT_SECONDS": "2",
            "SECURE_SSL_REDIRECT": "false",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            **env,
        }
        self.process = None
        self.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.log = open(f"/tmp/hms-feed-host-{self.port}.log", "ab")  # noqa: SIM115 (kept open while it runs)
        command = [sys.executable, "-m", "uvicorn", "hms.asgi:application", "--host", "127.0.0.1"]
        command += ["--port", str(self.port), "--log-level", "warning", "--no-access-log"]
        command += ["--ws", "websockets-sansio", "--ws-per-message-deflate", "false"]  # as deploy/entrypoint.sh
        self.process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                status, _ = request("GET", f"{self.base}/health")
                if status == 200:
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"the host on port {self.port} did not start: see {self.log.name}")

    def kill(self) -> None:
        """kill -9: no shutdown of any kind."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


def token(user) -> str:
    """An access token for `user`, as the hosts check it (same signing key)."""
    from accounts.tokens import tokens_issue

    return tokens_issue(user=user)["access"]


def request(method: str, url: str, body=None, token: str | None = None, headers=None) -> tuple[int, object]:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=15)
    sent = {"Content-Type": "application/json", **(headers or {})}
    if token:
        sent["Authorization"] = f"Bearer {token}"
    conn.request(
        method,
        parts.path + (f"?{parts.query}" if parts.query else ""),
        json.dumps(body) if body is not None else None,
        sent,
    )
    response = conn.getresponse()
    raw = response.read()
    conn.close()
    try:
        return response.status, json.loads(raw) if raw else None
    except ValueError:
        return response.status, raw


class SSE:
    """Reads an event stream in a thread; `events` are the parsed frames, `comments` the comment lines."""

    def __init__(self, url: str, token: str | None = None, last_event_id: int | None = None):
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        headers = {"Accept": "text/event-stream"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        self.conn.request("GET", parts.path + "?" + parts.query, headers=headers)
        self.response = self.conn.getresponse()
        self.status = self.response.status
        self.headers = dict(self.response.getheaders())
        self.events: list[dict] = []
        self.comments = 0
        self.closed = threading.Event()
        if self.status == 200:
            threading.Thread(target=self._read, daemon=True).start()
        else:
            self.body = json.loads(self.response.read() or b"null")
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

    def wait_for(self, predicate, timeout: float = 10.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self.events):
                return self.events
            time.sleep(0.02)
        raise AssertionError(f"stream did not get there in {timeout}s; it has {len(self.events)} events")

    def close(self) -> None:
        self.conn.close()


def publish_all() -> None:
    """Number every committed pending event (waiting while a host's publisher holds the lock)."""
    from feed import reader

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if reader.publish() == 0:
            return
        time.sleep(0.01)
    raise AssertionError("the feed's publisher lock was held for 10 s")
