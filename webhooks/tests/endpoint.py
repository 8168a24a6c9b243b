"""A local HTTPS webhook endpoint (a real TLS server on 127.0.0.1 with a self-signed certificate for
`localhost`, made by the openssl command), for the webhook tests and the real-worker test in
hms/tests/test_jobs_worker.py."""

import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class Endpoint:
    """What the server answers (`status`, `headers`, `body`, `delay` seconds) and what it received."""

    def __init__(self, port: int):
        self.port = port
        self.url = f"https://localhost:{port}/hook"
        self.received: list[dict] = []
        self.status, self.headers, self.body, self.delay, self.drip = 204, {}, b"", 0.0, 0.0
        # hold(n): the n-th request received is held (no answer) until release(); `arrived` is set then.
        self.hold_at: int | None = None
        self.arrived, self.released = threading.Event(), threading.Event()
        self.lock = threading.Lock()

    def answer(self, status=204, *, headers=None, body=b"", delay=0.0, drip=0.0):
        self.status, self.headers, self.body, self.delay, self.drip = status, headers or {}, body, delay, drip

    def hold(self, nth: int) -> None:
        self.hold_at = nth
        self.arrived.clear()
        self.released.clear()

    def release(self) -> None:
        self.released.set()


def _handler(endpoint: Endpoint):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with endpoint.lock:
                endpoint.received.append({"path": self.path, "headers": dict(self.headers), "body": raw})
                held = endpoint.hold_at == len(endpoint.received)
            if held:
                endpoint.arrived.set()
                endpoint.released.wait(60)
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


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate and its key for `localhost` and 127.0.0.1, written to `folder`."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def serve(certificate) -> tuple[Endpoint, ThreadingHTTPServer]:
    cert, key = certificate
    server = ThreadingHTTPServer(("127.0.0.1", 0), None)
    endpoint = Endpoint(server.server_address[1])
    server.RequestHandlerClass = _handler(endpoint)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return endpoint, server
