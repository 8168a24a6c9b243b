"""The caller's address, and the context variable that carries it to code that has no request."""

import contextvars

from django.conf import settings

# Set by hms.api.middleware.RequestIdMiddleware for the duration of a request; "" elsewhere (commands, jobs).
client_ip_var: contextvars.ContextVar[str] = contextvars.ContextVar("client_ip", default="")


def client_ip(request) -> str:
    """The caller's address, trusting X-Forwarded-For only from TRUSTED_PROXIES proxies."""
    trusted = settings.TRUSTED_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if trusted and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-min(trusted, len(hops))][:45]
    return (request.META.get("REMOTE_ADDR") or "")[:45]
