"""Webhook test fixtures: a local HTTPS endpoint and DNS under the test's control.

The https-only rule stands in tests too: the endpoint is a real TLS server on 127.0.0.1 with a
self-signed certificate for `localhost` (made by the openssl command), which the sender trusts
through WEBHOOKS_CA_BUNDLE; reaching 127.0.0.1 needs WEBHOOKS_ALLOW_PRIVATE, which only the tests
that talk to this server turn on (the SSRF tests run with it off)."""

import json
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from webhooks import addresses


class Endpoint:
    """What the server answers (`status`, `headers`, `body`, `delay` seconds) and what it received."""

    def __init__(self, port: int):
        self.port = port
        self.url = f"https://localhost:{port}/hook"
        self.received: list[dict] = []
        self.status, self.headers, self.body, self.delay, self.drip = 204, {}, b"", 0.0, 0.0

    def answer(self, status=204, *, headers=None, body=b"", delay=0.0, drip=0.0):
        self.status, self.headers, self.body, self.delay, self.drip = status, headers or {}, body, delay, drip


def _handler(endpoint: Endpoint):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            endpoint.received.append({"path": self.path, "headers": dict(self.headers), "body": raw})
            if endpoint.delay:
                time.sleep(endpoint.delay)
            self.send_response(endpoint.status)
            for name, value in endpoint.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(endpoint.body)))
            self.end_headers()
            if endpoint.drip:  # one byte at a time: each read is quick, the whole answer is not
                for byte in endpoint.body:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(endpoint.drip)
            else:
                self.wfile.write(endpoint.body)

        do_GET = do_POST  # noqa: N815 - a followed redirect would arrive as a GET

        def log_message(self, *args):
            pass

    return Handler


@pytest.fixture(scope="session")
def certificate(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def _serve(certificate) -> tuple[Endpoint, ThreadingHTTPServer]:
    cert, key = certificate
    server = ThreadingHTTPServer(("127.0.0.1", 0), None)
    endpoint = Endpoint(server.server_address[1])
    server.RequestHandlerClass = _handler(endpoint)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return endpoint, server


@pytest.fixture
def endpoint(certificate, settings, monkeypatch):
    """A local HTTPS endpoint at https://localhost:<port>/hook ('localhost' -> 127.0.0.1)."""
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    settings.WEBHOOKS_CA_BUNDLE = str(certificate[0])
    settings.WEBHOOKS_TIMEOUT_SECONDS = 3.0
    dns = {"localhost": ["127.0.0.1"]}
    monkeypatch.setattr(addresses, "resolve", lambda host, port: dns.get(host, []))
    endpoint, server = _serve(certificate)
    endpoint.dns = dns
    yield endpoint
    server.shutdown()
    server.server_close()


@pytest.fixture
def second_endpoint(certificate, endpoint):
    """Another local HTTPS endpoint (e.g. where a redirect points)."""
    other, server = _serve(certificate)
    yield other
    server.shutdown()
    server.server_close()


@pytest.fixture
def public_dns(monkeypatch, settings):
    """DNS for the registration tests: `*.example.com` are public addresses, a few names are not."""
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    dns = {
        "hooks.example.com": ["93.184.216.34"],
        "internal.example.com": ["10.1.2.3"],
        "mixed.example.com": ["93.184.216.34", "192.168.0.7"],
        "metadata.example.com": ["169.254.169.254"],
        "v6local.example.com": ["fd00:ec2::254"],
        "localhost": ["127.0.0.1", "::1"],
    }

    def resolve(host, port):
        if host in dns:
            return dns[host]
        if host.endswith(".example.com"):
            return ["93.184.216.34"]
        if all(part.isdigit() for part in host.split(".")) or ":" in host:
            return [host]  # an IP literal resolves to itself
        raise OSError("unknown host")

    monkeypatch.setattr(addresses, "resolve", resolve)
    return dns


def body_of(request: dict) -> dict:
    return json.loads(request["body"])
