"""System checks of the ground floor, and the one rule for the checks of every app.

``python manage.py check`` (and so ``migrate``) runs E001; the security posture checks run with
``--deploy``. Each app registers its own from its ``ready()``, with ids in one series:

E001 throttle and abuse counters in a per-process cache while more than one worker serves
(here). W001 admin-like role without require_mfa, W002 wildcard method on a non-admin role
(``roles.checks``); W003 API key without expiry (``apikeys.checks``); W004 access tokens over an
hour, W005 http redirect URI off loopback (``oauth.checks``); W006 DEBUG on, W007 weak Argon2,
W008 outbound fetches opened to internal networks, W009 outbound fetches over plain http, W010
PostgreSQL off loopback without TLS, W011 Redis off loopback without TLS, W012 a backend's TLS
that does not verify the server (here). Each says how to fix it. Checks that read the database
(roles, clients, keys) are wrapped in ``over_stored_rows``: a database not migrated yet is
skipped rather than reported.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.contrib.auth.hashers import get_hasher
from django.core.cache import caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.checks import CheckMessage, Error, Warning
from django.db import DatabaseError

from core.proxy import is_loopback_host
from core.workers import web_concurrency

ARGON2_MIN_MEMORY_KIB = 19 * 1024  # OWASP Password Storage Cheat Sheet floor
ARGON2_MIN_TIME_COST = 2
# libpq sslmodes that may talk plaintext (libpq's default is "prefer"), and the one that
# encrypts without checking whom it talks to.
PLAINTEXT_SSLMODES = {"disable", "allow", "prefer"}
UNVERIFIED_SSLMODES = {"require"}
UNVERIFIED_REDIS_CERT_REQS = {"none", "cert_none", "optional", "cert_optional"}


def check_settings() -> Iterable[Warning]:
    if settings.DEBUG:
        yield Warning(
            "DEBUG is on.",
            hint="Unset DEBUG (it defaults to false); it leaks settings and tracebacks.",
            id="authserver.W006",
        )
    argon2 = get_hasher("argon2")
    if argon2.memory_cost < ARGON2_MIN_MEMORY_KIB or argon2.time_cost < ARGON2_MIN_TIME_COST:
        yield Warning(
            f"Argon2 parameters are weak (memory {argon2.memory_cost} KiB, "
            f"time {argon2.time_cost}).",
            hint="Use at least m=19 MiB, t=2 (Django's default is m=100 MiB, t=2).",
            id="authserver.W007",
        )

    if settings.OUTBOUND_ALLOWED_NETWORKS:
        yield Warning(
            "OUTBOUND_ALLOWED_NETWORKS is set: outbound fetches (a client's jwks_uri) may reach "
            f"{', '.join(settings.OUTBOUND_ALLOWED_NETWORKS)}.",
            hint="Unset it outside development and tests: it opens internal addresses to SSRF.",
            id="authserver.W008",
        )
    if settings.OUTBOUND_ALLOW_HTTP:
        yield Warning(
            "OUTBOUND_ALLOW_HTTP is on: outbound fetches (a client's jwks_uri) may use http.",
            hint="Unset it outside development: keys fetched over http can be swapped in transit.",
            id="authserver.W009",
        )


def _local(hosts: str | None) -> bool:
    """Loopback addresses and Unix sockets (a path, or no host at all) never cross a network."""
    return all(
        not host or host.startswith("/") or host == "localhost" or is_loopback_host(host)
        for host in (hosts or "").split(",")
    )


def _unverified(backend: str, how: str) -> Warning:
    return Warning(
        f"{backend} is reached over TLS that does not verify the server ({how}).",
        hint="Verify the certificate and the host name: sslmode=verify-full for PostgreSQL, "
        "rediss:// without ssl_cert_reqs=none / ssl_check_hostname=false for Redis.",
        id="authserver.W012",
    )


def database_tls(database: Mapping[str, Any], environ: Mapping[str, str]) -> list[Warning]:
    """W010/W012 for one ``DATABASES`` entry; libpq also reads PGHOST and PGSSLMODE."""
    if database["ENGINE"] != "django.db.backends.postgresql":
        return []
    host = database.get("HOST") or environ.get("PGHOST", "")
    if _local(host):
        return []
    sslmode = database.get("OPTIONS", {}).get("sslmode") or environ.get("PGSSLMODE", "prefer")
    if sslmode in PLAINTEXT_SSLMODES:
        return [
            Warning(
                f"PostgreSQL at {host} may be reached in plaintext (sslmode={sslmode}).",
                hint="Add ?sslmode=verify-full&sslrootcert=/path/to/ca.pem to DATABASE_URL.",
                id="authserver.W010",
            )
        ]
    if sslmode in UNVERIFIED_SSLMODES:
        return [_unverified(f"PostgreSQL at {host}", f"sslmode={sslmode}")]
    return []


def redis_tls(url: str) -> list[Warning]:
    """W011/W012 for ``REDIS_URL`` (the cache, the rate limits and the Celery broker)."""
    parts = urlsplit(url)
    if parts.scheme not in {"redis", "rediss"} or _local(parts.hostname):
        return []
    if parts.scheme == "redis":
        return [
            Warning(
                f"Redis at {parts.hostname} is reached in plaintext (redis://).",
                hint="Use rediss:// in REDIS_URL (with ssl_ca_certs=/path/to/ca.pem for a "
                "private CA); the cache, the rate limits and the Celery broker all use it.",
                id="authserver.W011",
            )
        ]
    query = {key: values[-1].lower() for key, values in parse_qs(parts.query).items()}
    if query.get("ssl_cert_reqs") in UNVERIFIED_REDIS_CERT_REQS:
        return [
            _unverified(f"Redis at {parts.hostname}", f"ssl_cert_reqs={query['ssl_cert_reqs']}")
        ]
    if query.get("ssl_check_hostname") == "false":
        return [_unverified(f"Redis at {parts.hostname}", "ssl_check_hostname=false")]
    return []


def check_backends() -> Iterable[Warning]:
    yield from database_tls(settings.DATABASES["default"], os.environ)
    yield from redis_tls(settings.REDIS_URL)


def over_stored_rows(
    findings: Callable[[], Iterable[CheckMessage]],
) -> Callable[..., list[CheckMessage]]:
    """A system check made of ``findings``, which read stored rows: nothing to judge (so no
    finding) while the database is not migrated yet."""

    def check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
        try:
            return list(findings())
        except DatabaseError:
            return []

    # Named as ``findings`` (not functools.wraps: Django reads the signature it would point at).
    check.__name__, check.__qualname__ = findings.__name__, findings.__qualname__
    check.__module__, check.__doc__ = findings.__module__, findings.__doc__
    return check


def security_posture(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """The deployment's own settings and backends (``--deploy``)."""
    return [*check_settings(), *check_backends()]


def shared_limits(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """Sign-in, MFA and client-authentication throttles and the abuse counters live in the
    ``default`` cache: each gunicorn worker would count alone in a per-process one (five
    workers let 25 wrong passwords be checked where the limit is 5)."""
    backend, workers = caches["default"], web_concurrency()
    if isinstance(backend, DummyCache):
        problem = "stores nothing, so no throttle or abuse limit would hold"
    elif isinstance(backend, LocMemCache) and workers > 1:
        problem = f"is per process: {workers} workers would each keep their own counters"
    else:
        return []
    return [
        Error(
            f"The default cache ({type(backend).__name__}) {problem}.",
            hint="Use Redis (REDIS_URL) or the database cache (core.cache.DatabaseCache, the "
            "default without REDIS_URL); a per-process cache only with WEB_CONCURRENCY=1.",
            id="authserver.E001",
        )
    ]
