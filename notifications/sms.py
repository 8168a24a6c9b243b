"""SMS backends, chosen by `SMS_BACKEND`: console, file or http. `send_sms()` returns when the message
was handed over and raises `SmsError` otherwise (the delivery job retries it later)."""

import json
import sys
import urllib.error
import urllib.request
from pathlib import Path

from django.conf import settings
from django.utils import timezone

HTTP_TIMEOUT_SECONDS = 10


class SmsError(Exception):
    pass


def _console(to: str, text: str) -> None:
    sys.stdout.write(f"SMS to {to}: {text}\n")
    sys.stdout.flush()


def _file(to: str, text: str) -> None:
    path = Path(settings.SMS_FILE_PATH)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"at": timezone.now().isoformat(), "to": to, "text": text})
    with path.open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a provider that redirects is answering wrongly: a failure, retried later


def _http(to: str, text: str) -> None:
    """A JSON POST of `{"to", "text"}` to SMS_HTTP_URL with a bearer token; a 2xx answer is sent."""
    if not settings.SMS_HTTP_URL.startswith(("https://", "http://")):
        raise SmsError("SMS_HTTP_URL must be an http(s) URL.")
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        settings.SMS_HTTP_URL,
        data=json.dumps({"to": to, "text": text}).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {settings.SMS_HTTP_TOKEN}"},
    )
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=HTTP_TIMEOUT_SECONDS) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        raise SmsError(f"The SMS provider answered {error.code}.") from None
    except (urllib.error.URLError, OSError) as error:
        raise SmsError(f"The SMS provider could not be reached: {error}.") from None
    if not 200 <= status < 300:
        raise SmsError(f"The SMS provider answered {status}.")


BACKENDS = {"console": _console, "file": _file, "http": _http}


def send_sms(to: str, text: str) -> None:
    backend = BACKENDS.get(settings.SMS_BACKEND)
    if backend is None:
        raise SmsError(f"Unknown SMS_BACKEND {settings.SMS_BACKEND!r}.")
    backend(to, text)
