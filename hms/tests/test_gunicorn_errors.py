"""Gunicorn's own protocol errors (before Django runs) use the API's JSON error shape."""

import importlib.util
import json
import socket
from pathlib import Path

CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "gunicorn.conf.py"


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
