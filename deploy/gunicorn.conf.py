"""Gunicorn settings read by deploy/entrypoint.sh (command-line flags there still apply).

Gunicorn answers requests it cannot parse (a request line over `limit_request_line`, a malformed
header, ...) itself, before Django sees them, with an HTML page. The API promises one JSON error
shape everywhere, so those answers use it too.
"""

import json

from gunicorn import util


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
