"""Schemathesis hooks for `make fuzz` (loaded through schemathesis.toml's `hooks`).

`Idempotency-Key` (hms/api/idempotency.py): the same key with a different request body is refused with
422 `idempotency_key_reused`, by design (tested in the idempotency tests). The fuzzer draws keys from a
small space (its coverage phase sends the shortest valid key, "0", with every boundary body), so most
of its positive POSTs came back 422 and schemathesis reported those operations as "mostly rejected
generated data" (issue 22). A valid key the run already sent with another request is replaced here by
a fresh one, so each positive request reaches the rule it was generated for; the first use of each
drawn key, every replay of the same request, every invalid (negative) key and every case probing a
header go out unchanged.
"""

import json
import re
import uuid

import schemathesis

HEADER = "idempotency-key"
VALID_KEY = re.compile(r"^[!-~]{1,255}$")  # hms/api/idempotency.py's _KEY_FORMAT
_sent: dict[str, str] = {}  # key -> the request it was first sent with


def _request(case) -> str:
    body = getattr(case, "body", None)
    try:
        body = json.dumps(body, sort_keys=True, default=repr)
    except (TypeError, ValueError):
        body = repr(body)
    return f"{case.method} {case.formatted_path} {body}"


def _probes_a_header(case) -> bool:
    """A coverage case about a header (a missing Authorization, an unexpected header): left exactly as
    generated, or schemathesis loses track of what it left out and sends the run's own headers."""
    data = getattr(getattr(getattr(case, "meta", None), "phase", None), "data", None)
    return "header" in str(getattr(data, "parameter_location", "") or "").lower()


@schemathesis.hook
def before_call(context, case, **kwargs):
    if _probes_a_header(case):
        return
    headers = case.headers or {}
    name = next((name for name in headers if name.lower() == HEADER), None)
    key = headers.get(name) if name else None
    if not isinstance(key, str) or not VALID_KEY.match(key):
        return
    request = _request(case)
    if _sent.setdefault(key, request) != request:
        headers[name] = f"fuzz-{uuid.uuid4()}"
