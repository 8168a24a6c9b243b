"""Request id, body size limit and database-outage handling for every request; the admin's session,
authentication and messages middleware for its pages only."""

import re
import uuid

from django.conf import settings
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.db import DatabaseError
from django.http import JsonResponse

from hms.api.client import client_ip, client_ip_var
from hms.api.exceptions import STATEMENT_TIMEOUT_DETAIL, is_statement_timeout
from hms.api.logging import request_id_var

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def error_response(status: int, code: str, detail: str, error_type: str = "client_error") -> JsonResponse:
    """An error in the one API shape, for answers given outside DRF."""
    return JsonResponse({"type": error_type, "errors": [{"code": code, "detail": detail, "attr": None}]}, status=status)


class RequestIdMiddleware:
    """Take X-Request-ID from the caller (when well-formed) or make one; echo it, log it, audit it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request.request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        # Request metadata for code that is given no request (the audit log's record(), log lines).
        request_id_token = request_id_var.set(request.request_id)
        client_ip_token = client_ip_var.set(client_ip(request))
        try:
            response = self.get_response(request)
        finally:
            client_ip_var.reset(client_ip_token)
            request_id_var.reset(request_id_token)
        response["X-Request-ID"] = request.request_id
        return response


class BodySizeLimitMiddleware:
    """413 for bodies over 1 MiB: DRF reads the stream itself, so Django's upload limit never applies."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return error_response(400, "invalid_content_length", "The Content-Length header is not a number.")
        if length > settings.MAX_REQUEST_BODY_BYTES:
            return error_response(413, "payload_too_large", "The request body is larger than 1 MiB.")
        return self.get_response(request)


class DatabaseUnavailableMiddleware:
    """A database error outside DRF's handler (e.g. in authentication) answers 503, not a traceback."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, DatabaseError):
            if is_statement_timeout(exception):
                response = error_response(503, "database_timeout", STATEMENT_TIMEOUT_DETAIL, "server_error")
            else:
                response = error_response(
                    503, "service_unavailable", "The database is not reachable; try again shortly.", "server_error"
                )
            response["Retry-After"] = "5"
            return response
        return None


# The paths whose pages use sessions, Django's authentication middleware and messages: the Django admin.
# The JSON API authenticates every request by its token (DRF) and keeps no session.
SITE_PREFIXES = ("/admin",)


class SitePagesOnly:
    """Mixed into a Django middleware: it runs for the site's pages (SITE_PREFIXES) and is passed over for
    every other request, which costs the API nothing for state it never reads. (A subclass, so Django's
    own checks still find the middleware the admin needs.)"""

    def __call__(self, request):
        if request.path_info.startswith(SITE_PREFIXES):
            return super().__call__(request)
        return self.get_response(request)


class SiteSessionMiddleware(SitePagesOnly, SessionMiddleware):
    pass


class SiteAuthenticationMiddleware(SitePagesOnly, AuthenticationMiddleware):
    pass


class SiteMessageMiddleware(SitePagesOnly, MessageMiddleware):
    pass
