"""Real servers and real clients for the feed's tests: uvicorn processes on the test database and plain
HTTP calls (no mock of the transport; streams are read with feed/sse_client.py)."""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
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


def publish_all() -> None:
    """Number every committed pending event (waiting while a host's publisher holds the lock)."""
    from feed import reader

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if reader.publish() == 0:
            return
        time.sleep(0.01)
    raise AssertionError("the feed's publisher lock was held for 10 s")
