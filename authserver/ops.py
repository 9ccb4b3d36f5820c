"""Operator endpoints and error answers: health probes, 503 while a dependency is down, 500.

- ``/health/live``: the process answers; touches no dependency (restart only if this fails);
- ``/health/ready``: database, cache and signing key; 503 naming what failed, so a load
  balancer takes the instance out of rotation until it recovers.
"""

from __future__ import annotations

import logging
import sys

from django.conf import settings
from django.core.cache import cache
from django.db import InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader

from core.responses import oauth_error

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
NO_STORE = {"Cache-Control": "no-store"}


def service_unavailable(dependency: str) -> HttpResponse:
    return oauth_error(
        "temporarily_unavailable",
        f"The {dependency} is unavailable; retry shortly.",
        status=503,
        **{"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: never a stack trace; a database outage is a 503 like in views. A browser
    (``Accept: text/html``) off the machine endpoints gets the styled page ``500.html``, rendered
    without a request context (nothing that could fail again); anything else the JSON error."""
    if isinstance(sys.exc_info()[1], OperationalError | InterfaceError):
        return service_unavailable("database")
    if "text/html" in request.headers.get("Accept", "") and not request.path_info.startswith(
        settings.MACHINE_PATH_PREFIXES
    ):
        return HttpResponse(loader.get_template("500.html").render(), status=500, headers=NO_STORE)
    return oauth_error("server_error", "An unexpected error occurred.", status=500)


def live(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"}, headers=NO_STORE)


def _check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok"


def _check_cache() -> str:
    cache.set("health:probe", 1, timeout=10)
    if cache.get("health:probe") != 1:
        raise RuntimeError("cache did not return what was stored")
    from core.failsoft_cache import cache_is_degraded  # redis loads only where it is used

    return "degraded" if cache_is_degraded(cache) else "ok"


def _check_signing_key() -> str:
    from oauth import keys

    keys.signing_key(settings.ACCESS_TOKEN_ALGORITHM)
    return "ok"


CHECKS = {"database": _check_database, "cache": _check_cache, "signing_key": _check_signing_key}


def ready(request: HttpRequest) -> JsonResponse:
    """200 when every dependency answers. A Redis outage reads ``"cache": "degraded"`` and
    stays ready: caches fail soft to a process-local store (``core.failsoft_cache``)."""
    checks: dict[str, str] = {}
    failing: list[str] = []
    for name, check in CHECKS.items():
        if "database" in failing and name == "signing_key":
            checks[name] = "skipped"  # the key lives in the database
            continue
        try:
            checks[name] = check()
        except Exception as exc:  # noqa: BLE001 - any failure makes the instance unready
            log.warning("readiness check %s failed: %s", name, type(exc).__name__)
            checks[name] = "fail"
            failing.append(name)
    if failing:
        return JsonResponse(
            {"status": "unavailable", "failing": failing, "checks": checks},
            status=503,
            headers={**NO_STORE, "Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    return JsonResponse({"status": "ok", "checks": checks}, headers=NO_STORE)
