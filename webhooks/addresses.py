"""Which endpoint addresses a webhook may reach (SSRF guard), asked at registration and again at
every delivery: a name that resolved to a public address yesterday may resolve to 10.0.0.1 today.

The sender connects to the address checked here, never resolving the name a second time.
"""

import ipaddress
import socket
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


class AddressRefused(Exception):
    """`code`: url_not_https, url_invalid, url_unresolvable or url_private_address."""

    def __init__(self, code: str, detail: str):
        super().__init__(detail)
        self.code, self.detail = code, detail


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


def parse_url(url: str) -> tuple[str, int, str]:
    """`(host, port, path_and_query)` of an https URL, or AddressRefused."""
    try:
        parts = urlsplit(url)
        port = parts.port or 443
    except ValueError:
        raise AddressRefused("url_invalid", "Enter a valid https URL.") from None
    if parts.scheme.lower() != "https":
        raise AddressRefused("url_not_https", "Webhook URLs must use https.")
    if not parts.hostname:
        raise AddressRefused("url_invalid", "Enter a valid https URL.")
    if parts.username is not None or parts.password is not None:
        raise AddressRefused("url_invalid", "A webhook URL may not carry credentials; sign with the secret instead.")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.hostname, port, target


def checked_address(url: str) -> tuple[str, int, str, str]:
    """`(host, port, path, address)`: the URL's parts and the one address to connect to, after
    checking every address the host resolves to; AddressRefused when any of them is refused."""
    host, port, target = parse_url(url)
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError, ValueError):
        raise AddressRefused("url_unresolvable", f"The host '{host[:100]}' does not resolve.") from None
    if not addresses:
        raise AddressRefused("url_unresolvable", f"The host '{host[:100]}' does not resolve.")
    for address in addresses:
        refusal = address_refusal(address)
        if refusal:
            raise AddressRefused(
                "url_private_address", f"The host '{host[:100]}' is not reachable from here: {refusal}"
            )
    ipv4 = [address for address in addresses if ":" not in address]
    return host, port, target, (ipv4 or addresses)[0]
