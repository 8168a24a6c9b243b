"""Gunicorn's own protocol errors (before Django runs) use the API's JSON error shape."""

import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
CONFIG = BASE_DIR / "deploy" / "gunicorn.conf.py"


def _load_config():
    spec = importlib.util.spec_from_file_location("hms_gunicorn_conf", CONFIG)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _answer(status, reason, message):
    config = _load_config()
    server, client = socket.socketpair()
    with server, client:
        config.write_json_error(server, status, reason, message)
        server.shutdown(socket.SHUT_WR)
        raw = b""
        while chunk := client.recv(65536):
            raw += chunk
    head, body = raw.split(b"\r\n\r\n", 1)
    return head.decode("latin1").split("\r\n"), json.loads(body)


def test_request_line_too_long_is_a_json_400():
    head, body = _answer(400, "Bad Request", "Request Line is too large (8192 > 4094)")
    assert head[0] == "HTTP/1.1 400 Bad Request"
    assert "Content-Type: application/json" in head
    assert body == {
        "type": "client_error",
        "errors": [{"code": "bad_request", "detail": "Request Line is too large (8192 > 4094)", "attr": None}],
    }


def test_gunicorn_server_error_is_a_json_500_without_details():
    head, body = _answer(500, "Internal Server Error", "")
    assert head[0] == "HTTP/1.1 500 Internal Server Error"
    assert body["type"] == "server_error"
    assert body["errors"][0]["detail"] == "Internal Server Error."


def test_gunicorn_config_replaces_its_html_error_writer():
    from gunicorn import util

    config = _load_config()
    assert util.write_error is config.write_json_error


# --- gunicorn started with the config, as deploy/entrypoint.sh starts it -----------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def gunicorn_server():
    """gunicorn serving hms.wsgi with deploy/gunicorn.conf.py; the refusals come before Django (and the
    database, which the server is never asked to reach: /health is answered without it)."""
    port = _free_port()
    env = {key: value for key, value in os.environ.items() if key in ("PATH", "HOME", "LANG", "LC_ALL", "TZ")}
    env.update(
        PYTHONPATH=str(BASE_DIR),
        DJANGO_SETTINGS_MODULE="hms.settings",
        SECRET_KEY="gunicorn-test-secret-key-not-for-production-0123456789abcdef",
        DATABASE_URL="postgresql://u:p@127.0.0.1:1/unused",
        DEBUG="false",
        SECURE_SSL_REDIRECT="false",
        ALLOWED_HOSTS="127.0.0.1",
    )
    command = [sys.executable, "-m", "gunicorn", "hms.wsgi:application", "--config", str(CONFIG)]
    command += ["--bind", f"127.0.0.1:{port}", "--workers", "1", "--log-level", "warning"]
    server = subprocess.Popen(command, cwd=BASE_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                status, _, _ = _exchange(port, b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                if status == 200:
                    break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail("gunicorn did not come up:\n" + server.communicate()[0].decode(errors="replace"))
            time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _exchange(port: int, request: bytes) -> tuple[int, dict, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request)
        raw = b""
        while b"\r\n\r\n" not in raw or len(raw.partition(b"\r\n\r\n")[2]) < _length(raw):
            chunk = connection.recv(65536)
            if not chunk:
                break
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in header_lines)}
    return int(status_line.split()[1]), headers, body


def _length(raw: bytes) -> int:
    for line in raw.partition(b"\r\n\r\n")[0].split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":", 1)[1])
    return 1 << 30


def test_config_sets_the_request_limits_deliberately():
    config = _load_config()
    assert (config.limit_request_line, config.limit_request_fields, config.limit_request_field_size) == (4094, 50, 8190)


def test_nine_kilobyte_request_line_is_a_json_400_from_gunicorn(gunicorn_server):
    path = "/api/v1/hospitals?search=" + "x" * 9 * 1024
    status, headers, body = _exchange(gunicorn_server, f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    assert status == 400
    assert headers["content-type"] == "application/json"
    data = json.loads(body)
    assert data["type"] == "client_error"
    assert [(error["code"], error["attr"]) for error in data["errors"]] == [("bad_request", None)]
    assert data["errors"][0]["detail"].startswith("Request Line is too large")


@pytest.mark.parametrize(
    "headers",
    [
        "X-Padding: " + "y" * 9 * 1024 + "\r\n",  # one field over limit_request_field_size
        "".join(f"X-Field-{number}: {number}\r\n" for number in range(60)),  # more than limit_request_fields
    ],
    ids=["field_too_large", "too_many_fields"],
)
def test_oversized_headers_are_a_json_431_from_gunicorn(gunicorn_server, headers):
    request = f"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}\r\n".encode()
    status, response_headers, body = _exchange(gunicorn_server, request)
    assert status == 431
    assert response_headers["content-type"] == "application/json"
    data = json.loads(body)
    assert data["type"] == "client_error"
    assert data["errors"][0]["code"] == "request_header_fields_too_large" and data["errors"][0]["attr"] is None


def test_a_request_within_the_limits_reaches_django(gunicorn_server):
    status, headers, body = _exchange(gunicorn_server, b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert status == 200 and headers["content-type"].startswith("application/json")
