"""Prometheus metrics: what operators alert on, cheap on the hot path, bounded labels.

Under gunicorn every worker writes its samples to ``PROMETHEUS_MULTIPROC_DIR`` (set by
gunicorn.conf.py) and ``/metrics`` merges them; ``child_exit`` marks dead workers. Labels
take values from fixed sets (endpoints, grant types, OAuth error codes, registered clients,
registered tasks), never from free request input.

``/metrics`` needs ``Authorization: Bearer $METRICS_TOKEN``; with no token configured it
answers loopback callers only.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

from core.responses import oauth_error

INTROSPECTION_SECONDS = Histogram(
    "authserver_introspection_seconds",
    "Time to answer a token introspection request.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)
DECISION_SECONDS = Histogram(
    "authserver_decision_seconds",
    "Time to answer an authorization decision request (/access/).",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)
HTTP_RESPONSES = Counter(
    "authserver_http_responses",
    "Responses by endpoint and status class.",
    ["endpoint", "status"],
)
LOGIN_FAILURES = Counter("authserver_login_failures", "Failed sign-in attempts.")
MFA_FAILURES = Counter("authserver_mfa_failures", "Wrong second-factor codes.")
LOCKOUTS = Counter(
    "authserver_lockouts",
    "Temporary blocks started (sign-in throttle, MFA lock, IP block).",
    ["kind"],
)
RATE_LIMITED = Counter(
    "authserver_rate_limited", "Requests refused with 429 by endpoint.", ["endpoint"]
)
REFRESH_TOKEN_REUSE = Counter(
    "authserver_refresh_token_reuse",
    "Revoked refresh tokens presented again (the token family is revoked).",
)
CELERY_TASKS = Counter("authserver_celery_tasks", "Celery task outcomes.", ["task", "outcome"])

# Path prefix -> endpoint label; first match wins.
ENDPOINTS = (
    ("/o/token/", "token"),
    ("/o/introspect/", "introspect"),
    ("/o/revoke_token/", "revoke"),
    ("/o/authorize/", "authorize"),
    ("/o/userinfo/", "userinfo"),
    ("/o/jwks/", "jwks"),
    ("/o/device-authorization/", "device"),
    ("/.well-known/", "discovery"),
    ("/accounts/login/", "login"),
    ("/access/", "access"),
    ("/gateway/", "gateway"),
    ("/health/", "health"),
    ("/metrics", "metrics"),
)
# Endpoint label -> a function counting that endpoint's answers, registered by the app that owns
# the endpoint from its ready() (oauth counts its token endpoint's outcomes).
OBSERVERS: dict[str, Callable[[HttpRequest, HttpResponse], None]] = {}


def endpoint_of(path: str) -> str:
    for prefix, name in ENDPOINTS:
        if path.startswith(prefix):
            return name
    return "other"


_children: dict[tuple[Any, ...], Any] = {}


def labelled(metric: Any, *values: str) -> Any:
    """``metric.labels(*values)`` (in label order), kept per process: prometheus_client checks
    the names and takes a lock on every call. Label values come from bounded sets (endpoints,
    status classes, registered clients), as prometheus_client's own children do."""
    key = (metric, *values)
    child = _children.get(key)
    if child is None:
        child = _children[key] = metric.labels(*values)
    return child


def count_login_failure(**kwargs: Any) -> None:
    LOGIN_FAILURES.inc()


class MetricsMiddleware:
    """Counts every response; times introspection and decisions; hands POSTs to the observer
    registered for their endpoint."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        user_login_failed.connect(count_login_failure, dispatch_uid="core.metrics.login")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        endpoint = endpoint_of(request.path_info)
        started = time.perf_counter()
        response = self.get_response(request)
        if endpoint == "introspect":
            INTROSPECTION_SECONDS.observe(time.perf_counter() - started)
        elif endpoint == "access":
            DECISION_SECONDS.observe(time.perf_counter() - started)
        observer = OBSERVERS.get(endpoint)
        if observer is not None and request.method == "POST":
            observer(request, response)
        if response.status_code == 429:
            labelled(RATE_LIMITED, endpoint).inc()
        labelled(HTTP_RESPONSES, endpoint, f"{response.status_code // 100}xx").inc()
        return response


# --- Celery ---------------------------------------------------------------------------------


def _task_name(sender: Any) -> str:
    return str(getattr(sender, "name", "unknown"))


def task_succeeded(sender: Any = None, **kwargs: Any) -> None:
    CELERY_TASKS.labels(task=_task_name(sender), outcome="success").inc()


def task_failed(sender: Any = None, **kwargs: Any) -> None:
    CELERY_TASKS.labels(task=_task_name(sender), outcome="failure").inc()


def task_retried(sender: Any = None, **kwargs: Any) -> None:
    CELERY_TASKS.labels(task=_task_name(sender), outcome="retry").inc()


# --- /metrics -------------------------------------------------------------------------------


def _allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    if token:
        scheme, _, presented = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        return scheme.lower() == "bearer" and secrets.compare_digest(
            presented.strip().encode(), token.encode()
        )
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


def registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged)
        return merged
    return REGISTRY


def metrics_view(request: HttpRequest) -> HttpResponse:
    if not _allowed(request):
        return oauth_error(
            "unauthorized",
            "A scrape token is required.",
            status=401,
            **{"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    return HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)
