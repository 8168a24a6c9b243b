"""Gunicorn settings read by deploy/entrypoint.sh (command-line flags there still apply).

Gunicorn answers requests it cannot parse (a request line over `limit_request_line`, a malformed
header, ...) itself, before Django sees them, with an HTML page. The API promises one JSON error
shape everywhere, so those answers use it too.
"""

import json

from gunicorn import util

# --- Request limits, checked by gunicorn before Django runs (over a limit -> the JSON errors below) ---
# The request line (method, path, query string, version). The longest URL the API documents, a list
# with every filter and an ordering, is well under 1 KB; 4 KB leaves room for long search terms and
# is below what proxies pass by default (nginx: 8 KB), so the refusal is ours and in our shape. -> 400
limit_request_line = 4094
# Header fields per request. A browser or an API client sends 10-20, a proxy adds a few forwarding
# headers; 50 is generous and bounds the work per request. -> 431
limit_request_fields = 50
# One header field (name and value). The longest we expect is a bearer token (under 1 KB) or the
# admin's session and CSRF cookies (under 1 KB together). -> 431
limit_request_field_size = 8190

# --- The access log: the default (Apache combined) line, formatted without gunicorn's table of every
# header (hms/access_log.py says why). ---
logger_class = "hms.access_log.Logger"

# Gunicorn writes its refusals through `gunicorn.util.write_error` (called by
# `gunicorn.workers.base.Worker.handle_error` for every worker class); this config file runs in the
# master before the workers fork, so replacing that function here covers every worker.


def write_json_error(sock, status_int, reason, mesg):
    body = json.dumps(
        {
            "type": "client_error" if status_int < 500 else "server_error",
            "errors": [
                {
                    "code": reason.lower().replace(" ", "_"),
                    "detail": mesg or f"{reason}.",
                    "attr": None,
                }
            ],
        }
    ).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        "X-Content-Type-Options: nosniff\r\n"
        f"Content-Length: {len(body)}\r\n"
        "\r\n"
    ).encode("latin1")
    util.write_nonblock(sock, head + body)


util.write_error = write_json_error
