"""The access log line (hms/access_log.py) is gunicorn's default line, character for character."""

import datetime
import importlib.util
import io
from pathlib import Path

import pytest
from gunicorn import glogging
from gunicorn.config import Config

from hms.access_log import Logger

CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "gunicorn.conf.py"


class _Request:
    headers = [("HOST", "api.example.org"), ("AUTHORIZATION", "Bearer x"), ("USER-AGENT", "curl/8")]


class _Response:
    def __init__(self, status="201 Created", sent=412):
        self.status = status
        self.sent = sent
        self.headers = [("Content-Type", "application/json"), ("X-Request-ID", "abc")]


def _line(logger_class, *, response=None, access_log_format=None, **environ):
    cfg = Config()
    cfg.set("accesslog", "-")
    if access_log_format:
        cfg.set("access_log_format", access_log_format)
    logger = logger_class(cfg)
    stream = io.StringIO()
    logger.access_log.handlers[0].stream = stream
    base = {
        "REMOTE_ADDR": "10.0.0.7",
        "REQUEST_METHOD": "POST",
        "RAW_URI": "/api/v1/slots/5/hold?x=%22y%22",
        "PATH_INFO": "/api/v1/slots/5/hold",
        "QUERY_STRING": "x=%22y%22",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_USER_AGENT": 'curl/8 "quoted"',
    }
    base.update(environ)
    logger.access(response or _Response(), _Request(), base, datetime.timedelta(microseconds=1500))
    return stream.getvalue()


@pytest.mark.parametrize(
    ("environ", "response"),
    [
        ({}, None),
        ({"HTTP_REFERER": "https://app.example.org/book", "HTTP_AUTHORIZATION": "Basic YWxpY2U6c2VjcmV0"}, None),
        ({"REMOTE_ADDR": "::1", "HTTP_USER_AGENT": "wrk"}, _Response("404 Not Found", None)),
        ({"REQUEST_METHOD": "GET", "RAW_URI": "/api/v1/health"}, _Response(200, 0)),
    ],
)
def test_the_line_is_gunicorns_default_line(environ, response):
    ours = _line(Logger, response=response, **environ)
    assert ours == _line(glogging.Logger, response=response, **environ)
    assert ours.count("\n") == 1


def test_a_basic_auth_user_is_named_and_a_bearer_token_is_not():
    assert " - alice [" in _line(Logger, HTTP_AUTHORIZATION="Basic YWxpY2U6c2VjcmV0")
    assert " - - [" in _line(Logger, HTTP_AUTHORIZATION="Bearer eyJ.secret.sig")
    assert "eyJ" not in _line(Logger, HTTP_AUTHORIZATION="Bearer eyJ.secret.sig")


def test_a_custom_format_is_gunicorns_own():
    custom = '%(h)s "%(r)s" %(s)s %({x-request-id}o)s %(D)s'
    ours = _line(Logger, access_log_format=custom)
    assert ours == _line(glogging.Logger, access_log_format=custom)
    assert ours.startswith('10.0.0.7 "POST /api/v1/slots/5/hold?x=%22y%22 HTTP/1.1" 201 abc 1500')


def test_no_access_log_configured_writes_nothing():
    cfg = Config()
    logger = Logger(cfg)
    stream = io.StringIO()
    for handler in logger.access_log.handlers:
        handler.stream = stream
    logger.access(
        _Response(), _Request(), {"REQUEST_METHOD": "GET", "RAW_URI": "/", "SERVER_PROTOCOL": "HTTP/1.1"}, None
    )
    assert stream.getvalue() == ""


def test_the_gunicorn_config_selects_it():
    spec = importlib.util.spec_from_file_location("hms_gunicorn_conf_access", CONFIG)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.logger_class == "hms.access_log.Logger"
    cfg = Config()
    cfg.set("logger_class", module.logger_class)
    assert cfg.logger_class is Logger
