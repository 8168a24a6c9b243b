from django.conf import settings


def client_ip(request) -> str:
    """The caller's address, trusting X-Forwarded-For only from TRUSTED_PROXIES proxies."""
    trusted = settings.TRUSTED_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if trusted and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-min(trusted, len(hops))][:45]
    return (request.META.get("REMOTE_ADDR") or "")[:45]
