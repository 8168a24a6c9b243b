"""Which endpoint addresses a webhook may reach (SSRF guard), asked at registration and again at
every delivery: a name that resolved to a public address yesterday may resolve to 10.0.0.1 today.

The sender connects to the address checked here, never resolving the name a second time.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

# Cloud metadata services: refused even when WEBHOOKS_ALLOW_PRIVATE lets private addresses through.
METADATA_ADDRESSES = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),
        ipaddress.ip_address("fd00:ec2::254"),
        ipaddress.ip_address("100.100.100.200"),
    }
)


@dataclass(frozen=True)
class Target:
    """Where a webhook URL's request goes: the URL's host (for TLS and `Host`) and the address checked."""

    host: str
    port: int
    path: str  # path and query
    address: str


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (tests replace this to simulate DNS)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def _plain(address: ipaddress.IPv4Address | ipaddress.IPv6Address):
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:10.0.0.1 is 10.0.0.1
    return mapped or address


def address_refusal(raw: str) -> str | None:
    """Why `raw` may not be reached (a sentence), or None."""
    try:
        address = _plain(ipaddress.ip_address(raw.split("%", 1)[0]))
    except ValueError:
        return f"'{raw}' is not an IP address."
    if address in METADATA_ADDRESSES:
        return f"{address} is a cloud metadata address."
    if settings.WEBHOOKS_ALLOW_PRIVATE:
        return None
    if address.is_loopback:
        return f"{address} is a loopback address."
    if address.is_link_local:
        return f"{address} is a link-local address."
    if address.is_multicast:
        return f"{address} is a multicast address."
    if address.is_unspecified or address.is_reserved:
        return f"{address} is a reserved address."
    if address.is_private or not address.is_global:
        return f"{address} is a private address."
    return None


def target_refusal(url: str) -> Target | tuple[str, str]:
    """The one address to connect to for `url`, after checking every address its host resolves to;
    or why it may not be used, as `(code, sentence)` (the refusal codes of the API)."""
    try:
        parts = urlsplit(url)
        port = parts.port or 443
    except ValueError:
        return "url_invalid", "Enter a valid https URL."
    if parts.scheme.lower() != "https":
        return "url_not_https", "Webhook URLs must use https."
    if not parts.hostname:
        return "url_invalid", "Enter a valid https URL."
    if parts.username is not None or parts.password is not None:
        return "url_invalid", "A webhook URL may not carry credentials; sign with the secret instead."
    host = parts.hostname
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError, ValueError):
        addresses = []
    if not addresses:
        return "url_unresolvable", f"The host '{host[:100]}' does not resolve."
    for address in addresses:
        refusal = address_refusal(address)
        if refusal:
            return "url_private_address", f"The host '{host[:100]}' is not reachable from here: {refusal}"
    ipv4 = [address for address in addresses if ":" not in address]
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(host, port, path, (ipv4 or addresses)[0])
