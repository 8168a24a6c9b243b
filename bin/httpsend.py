"""The one HTTP call of the live-server scripts (bin/faults.py, bin/race.py): a JSON body, an optional
bearer token, the answer as it came (an error status is an answer, not an exception)."""

import json
import urllib.error
import urllib.request


def send(method: str, url: str, body=None, token: str | None = None) -> tuple[int, dict, bytes]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()
