"""Webhook test fixtures: a local HTTPS endpoint and DNS under the test's control.

The https-only rule stands in tests too: the endpoint is a real TLS server on 127.0.0.1 with a
self-signed certificate for `localhost` (made by the openssl command), which the sender trusts
through WEBHOOKS_CA_BUNDLE; reaching 127.0.0.1 needs WEBHOOKS_ALLOW_PRIVATE, which only the tests
that talk to this server turn on (the SSRF tests run with it off)."""

import json

import pytest

from webhooks import addresses
from webhooks.tests.endpoint import make_certificate, serve


@pytest.fixture(scope="session")
def certificate(tmp_path_factory):
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def endpoint(certificate, settings, monkeypatch):
    """A local HTTPS endpoint at https://localhost:<port>/hook ('localhost' -> 127.0.0.1)."""
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    settings.WEBHOOKS_CA_BUNDLE = str(certificate[0])
    settings.WEBHOOKS_TIMEOUT_SECONDS = 3.0
    dns = {"localhost": ["127.0.0.1"]}
    monkeypatch.setattr(addresses, "resolve", lambda host, port: dns.get(host, []))
    endpoint, server = serve(certificate)
    endpoint.dns = dns
    yield endpoint
    server.shutdown()
    server.server_close()


@pytest.fixture
def second_endpoint(certificate, endpoint):
    """Another local HTTPS endpoint (e.g. where a redirect points)."""
    other, server = serve(certificate)
    yield other
    server.shutdown()
    server.server_close()


@pytest.fixture
def public_dns(monkeypatch, settings):
    """DNS for the registration tests: `*.example.com` are public addresses, a few names are not."""
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    dns = {
        "hooks.example.com": ["93.184.216.34"],
        "internal.example.com": ["10.1.2.3"],
        "mixed.example.com": ["93.184.216.34", "192.168.0.7"],
        "metadata.example.com": ["169.254.169.254"],
        "v6local.example.com": ["fd00:ec2::254"],
        "localhost": ["127.0.0.1", "::1"],
    }

    def resolve(host, port):
        if host in dns:
            return dns[host]
        if host.endswith(".example.com"):
            return ["93.184.216.34"]
        if all(part.isdigit() for part in host.split(".")) or ":" in host:
            return [host]  # an IP literal resolves to itself
        raise OSError("unknown host")

    monkeypatch.setattr(addresses, "resolve", resolve)
    return dns


def body_of(request: dict) -> dict:
    return json.loads(request["body"])
