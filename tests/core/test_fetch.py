"""The guarded fetcher's rules that need no server: which addresses it refuses, how long it
keeps a document, and what a host resolving to several addresses gets."""

from __future__ import annotations

import socket

import pytest

from core import fetch


@pytest.mark.parametrize(
    ("address", "refused"),
    [
        ("93.184.215.14", False),
        ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", False),
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("10.0.0.1", True),
        ("172.16.5.4", True),
        ("192.168.1.1", True),
        ("100.64.0.1", True),  # shared address space (carrier NAT)
        ("169.254.169.254", True),  # cloud metadata
        ("0.0.0.0", True),
        ("224.0.0.251", True),
        ("239.255.255.250", True),
        ("240.0.0.1", True),
        ("255.255.255.255", True),
        ("::1", True),
        ("::", True),
        ("fe80::1%eth0", True),
        ("fc00::1", True),
        ("fd12:3456::1", True),
        ("fec0::1", True),
        ("ff02::1", True),
        ("::ffff:127.0.0.1", True),
        ("::ffff:169.254.169.254", True),
        ("::ffff:93.184.215.14", False),
        ("2002:7f00:1::1", True),  # 6to4 around 127.0.0.1
        ("64:ff9b::a00:1", True),  # NAT64 around 10.0.0.1
    ],
)
def test_addresses(settings, address, refused):
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    assert fetch.address_refused(address) is refused


def test_allowed_networks_exempt_their_addresses_only(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    assert not fetch.address_refused("127.0.0.1")
    assert not fetch.address_refused("::ffff:127.0.0.1")
    assert fetch.address_refused("10.0.0.1")
    assert fetch.address_refused("::1")


@pytest.mark.parametrize(
    ("cache_control", "seconds"),
    [
        ("", fetch.DEFAULT_CACHE_SECONDS),
        ("public, max-age=600", 600),
        ("max-age=1", fetch.MIN_CACHE_SECONDS),
        ("max-age=99999999", fetch.MAX_CACHE_SECONDS),
        ("no-store", fetch.MIN_CACHE_SECONDS),
        ('max-age="3600", must-revalidate', 3600),
        ("max-age=-5", fetch.DEFAULT_CACHE_SECONDS),
    ],
)
def test_cache_lifetime_follows_cache_control_within_bounds(cache_control, seconds):
    assert fetch.cache_seconds(cache_control) == seconds


def test_a_host_with_one_private_address_among_public_ones_is_refused(settings, monkeypatch):
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    infos = [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", 443)),
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", 443)),
    ]
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: infos)
    with pytest.raises(fetch.FetchError, match="refused address"):
        fetch.fetch("https://mixed.example.test/jwks")
    with pytest.raises(fetch.FetchError):
        fetch.check_url("https://mixed.example.test/jwks")


@pytest.mark.parametrize(
    "url",
    [
        "http://jwks.example.com/",
        "file:///etc/passwd",
        "https://user:pw@jwks.example.com/",
        "https:///no-host",
        "https://jwks.example.com:99999/",
    ],
)
def test_urls_the_fetcher_never_fetches(url):
    with pytest.raises(fetch.FetchError):
        fetch.target(url)


def test_http_only_when_development_allows_it(settings):
    settings.OUTBOUND_ALLOW_HTTP = True
    assert fetch.target("http://127.0.0.1:8000/jwks").host_header == "127.0.0.1:8000"
