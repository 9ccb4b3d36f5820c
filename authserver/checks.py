"""System checks. ``python manage.py check`` (and so ``migrate``) runs E001; the security
posture checks run with ``--deploy``.

E001 throttle and abuse counters in a per-process cache while more than one worker serves.
W001 admin-like role without require_mfa, W002 wildcard method on a non-admin role, W003 API key
without expiry, W004 access tokens over an hour, W005 http redirect URI off loopback, W006 DEBUG
on, W007 weak Argon2, W008 outbound fetches opened to internal networks, W009 outbound fetches
over plain http, W010 PostgreSQL off loopback without TLS, W011 Redis off loopback without TLS,
W012 a backend's TLS that does not verify the server. Each says how to fix it. Some read the
database (roles, clients, keys), so a database that is not migrated yet is skipped rather than
reported.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.contrib.auth.hashers import get_hasher
from django.core.cache import caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.checks import Error, Tags, Warning, register
from django.db import DatabaseError

from apikeys.models import ApiKey
from core.workers import web_concurrency
from oauth.models import Client, is_loopback_host
from roles import policy
from roles.models import Role

MAX_ACCESS_TOKEN_LIFETIME = 3600
ARGON2_MIN_MEMORY_KIB = 19 * 1024  # OWASP Password Storage Cheat Sheet floor
ARGON2_MIN_TIME_COST = 2
# libpq sslmodes that may talk plaintext (libpq's default is "prefer"), and the one that
# encrypts without checking whom it talks to.
PLAINTEXT_SSLMODES = {"disable", "allow", "prefer"}
UNVERIFIED_SSLMODES = {"require"}
UNVERIFIED_REDIS_CERT_REQS = {"none", "cert_none", "optional", "cert_optional"}


def _is_admin_like(role: Role, rules: list[policy.EndpointRule]) -> bool:
    return "admin" in role.name.lower() or any(
        r.method == "*" and "**" in r.segments for r in rules
    )


def _rules(role: Role) -> list[policy.EndpointRule]:
    parsed = (policy.parse_permission(p.value) for p in role.permissions.all())
    return [p for p in parsed if isinstance(p, policy.EndpointRule)]


def check_roles() -> Iterable[Warning]:
    for role in Role.objects.prefetch_related("permissions"):
        rules = _rules(role)
        if _is_admin_like(role, rules) and not role.require_mfa:
            yield Warning(
                f"Role {role.name!r} grants administrative access without require_mfa.",
                hint="Set require_mfa: true on the role (apply file or management API).",
                obj=role.name,
                id="authserver.W001",
            )
        if "admin" not in role.name.lower() and any(r.method == "*" for r in rules):
            yield Warning(
                f"Role {role.name!r} has a wildcard-method endpoint rule.",
                hint="List the methods it needs (GET, POST, ...) instead of '*'.",
                obj=role.name,
                id="authserver.W002",
            )


def check_clients() -> Iterable[Warning]:
    if settings.ACCESS_TOKEN_LIFETIME > MAX_ACCESS_TOKEN_LIFETIME:
        yield Warning(
            f"ACCESS_TOKEN_LIFETIME is {settings.ACCESS_TOKEN_LIFETIME} s (over 1 hour).",
            hint="Keep access tokens short-lived (default 600 s); use refresh tokens.",
            id="authserver.W004",
        )
    for client in Client.objects.all():
        if (client.access_token_lifetime or 0) > MAX_ACCESS_TOKEN_LIFETIME:
            yield Warning(
                f"Client {client.client_id!r} issues access tokens for "
                f"{client.access_token_lifetime} s (over 1 hour).",
                hint="Lower access_token_lifetime to 3600 or less.",
                obj=client.client_id,
                id="authserver.W004",
            )
        for uri in client.redirect_uris.split():
            parts = urlsplit(uri)
            if parts.scheme == "http" and not is_loopback_host(parts.hostname):
                yield Warning(
                    f"Client {client.client_id!r} has an http redirect URI off loopback: {uri}",
                    hint="Use https, or http://127.0.0.1 / http://[::1] for native apps.",
                    obj=client.client_id,
                    id="authserver.W005",
                )


def check_api_keys() -> Iterable[Warning]:
    for key in ApiKey.objects.filter(expires_at__isnull=True, revoked_at__isnull=True):
        yield Warning(
            f"API key {key.name!r} ({key.key_id}) never expires.",
            hint="Give keys an expiry (expires_in in the apply file) and rotate them before it.",
            obj=key.key_id,
            id="authserver.W003",
        )


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


CHECKS = [check_settings, check_backends, check_roles, check_clients, check_api_keys]


@register(Tags.security, deploy=True)
def security_posture(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    findings: list[Warning] = []
    for check in CHECKS:
        try:
            findings.extend(check())
        except DatabaseError:
            continue  # not migrated yet: nothing stored to judge
    return findings


@register(Tags.security, Tags.caches)
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
