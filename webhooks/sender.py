"""One HTTPS POST to a webhook endpoint: to the address that was checked (no second DNS lookup),
with the URL's host for SNI, certificate check and `Host`; no redirects; timeouts; at most 1 KB of
the answer kept."""

import contextlib
import http.client
import socket
import ssl
import threading
import time
from dataclasses import dataclass

from django.conf import settings

from webhooks.addresses import target_refusal

CONNECT_TIMEOUT = 5.0
MAX_KEPT_BODY = 1024


@dataclass
class Outcome:
    delivered: bool
    status: int | None = None
    body: str = ""
    error: str = ""


def _tls_context() -> ssl.SSLContext:
    bundle = settings.WEBHOOKS_CA_BUNDLE
    return ssl.create_default_context(cafile=bundle or None)


class PinnedHTTPSConnection(http.client.HTTPSConnection):
    """An HTTPS connection to `address`, speaking TLS (SNI, certificate) and HTTP for `host`."""

    def __init__(self, host: str, port: int, address: str, *, timeout: float, context: ssl.SSLContext):
        super().__init__(host, port, timeout=timeout, context=context)
        self._address = address
        self.pinned_socket = None  # kept after close(): the answer being read still uses it

    def connect(self):
        sock = socket.create_connection((self._address, self.port), timeout=min(CONNECT_TIMEOUT, self.timeout))
        sock.settimeout(self.timeout)
        self.sock = self.pinned_socket = self._context.wrap_socket(sock, server_hostname=self.host)


def _abort(connection: PinnedHTTPSConnection) -> None:
    sock = connection.pinned_socket
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def post(url: str, body: bytes, headers: dict[str, str]) -> Outcome:
    """POST `body`; delivered when a 2xx arrives within WEBHOOKS_TIMEOUT_SECONDS."""
    target = target_refusal(url)
    if isinstance(target, tuple):
        code, detail = target
        return Outcome(False, error=f"{code}: {detail}")
    deadline = time.monotonic() + settings.WEBHOOKS_TIMEOUT_SECONDS
    connection = PinnedHTTPSConnection(
        target.host, target.port, target.address, timeout=settings.WEBHOOKS_TIMEOUT_SECONDS, context=_tls_context()
    )
    # The socket timeout bounds each read; this bounds the whole exchange (an endpoint dripping a
    # byte at a time): at the deadline the socket is shut down under the blocked read.
    watchdog = threading.Timer(settings.WEBHOOKS_TIMEOUT_SECONDS, _abort, args=(connection,))
    watchdog.start()
    try:
        connection.request("POST", target.path, body=body, headers={**headers, "Content-Type": "application/json"})
        response = connection.getresponse()
        kept = response.read(MAX_KEPT_BODY).decode("utf-8", "replace")
        status = response.status
    except (OSError, http.client.HTTPException, ValueError) as error:
        timed_out = isinstance(error, TimeoutError | socket.timeout) or time.monotonic() >= deadline
        reason = "timed out" if timed_out else type(error).__name__
        return Outcome(False, error=f"connection_failed: {reason}: {str(error)[:200]}")
    finally:
        watchdog.cancel()
        connection.close()
        if connection.pinned_socket is not None:
            connection.pinned_socket.close()  # an answer left unread still holds it
    if time.monotonic() >= deadline:
        return Outcome(False, status, kept, f"timeout: no answer within {settings.WEBHOOKS_TIMEOUT_SECONDS} s")
    if 200 <= status < 300:
        return Outcome(True, status, kept)
    if 300 <= status < 400:
        return Outcome(
            False, status, kept, f"redirect_refused: the endpoint answered {status}; redirects are not followed"
        )
    return Outcome(False, status, kept, f"http_error: the endpoint answered {status}")
