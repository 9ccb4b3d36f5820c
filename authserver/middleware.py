"""Middleware shared by both stacks (browser pages and machine endpoints, see wsgi.py).

- ``RequestIdMiddleware``: a request id on every response and every log line;
- ``DatabaseUnavailableMiddleware``: a database outage answers 503 + ``Retry-After``;
- ``PlainHttpRefusedMiddleware``: credential-bearing machine endpoints refuse plain http;
- ``BodyTooLargeMiddleware``: a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` is a 413 in the
  endpoint's own error format;
- ``SecurityHeadersMiddleware``: the response headers every endpoint sends.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable

from django.conf import settings
from django.core.signals import request_finished
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse

from authserver import errors, ops
from core.logs import request_id_var, reset_request_id
from core.responses import oauth_error
from federation import hooks as federation_hooks
from mfa import flows as mfa_flows
from oauth import formaction

log = logging.getLogger(__name__)


def content_security_policy(form_action: tuple[str, ...] = ()) -> str:
    """Pages are server-rendered with no inline script: a strict policy costs nothing. Forms
    post to this origin, and redirect to ``form_action`` origins (``oauth.formaction``)."""
    targets = " ".join(("'self'", *form_action))
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"object-src 'none'; base-uri 'none'; form-action {targets}; frame-ancestors 'none'"
    )


CONTENT_SECURITY_POLICY = content_security_policy()


def _continued_urls(request: HttpRequest, response: HttpResponse) -> list[str | None]:
    """The requests a page's forms lead to: the page's own URL (consent, logout) and the
    authorization request that sign-in continues (``next``, or the pending second factor's).
    A body refused as too large is never read, nor one the view did not parse (reading it
    here could raise, and turn the view's answer into a 400)."""
    urls = [request.get_full_path(), request.GET.get("next")]
    if request.method == "POST" and hasattr(request, "_post"):
        urls.append(request.POST.get("next"))
    if hasattr(request, "session"):  # the browser stack
        urls.append(mfa_flows.pending_next(request))
    return urls


class SecurityHeadersMiddleware:
    """HSTS, nosniff, referrer policy, CSP with ``frame-ancestors 'none'``, X-Frame-Options.
    An HTML page's ``form-action`` adds the registered redirect origin its forms lead to."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        hsts = f"max-age={settings.SECURE_HSTS_SECONDS}; includeSubDomains"
        if settings.SECURE_HSTS_PRELOAD:
            hsts += "; preload"
        self.headers = {
            "Strict-Transport-Security": hsts,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "X-Frame-Options": "DENY",
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        }

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Content-Security-Policy" not in response and response.get(
            "Content-Type", ""
        ).startswith("text/html"):
            origins = formaction.origins(_continued_urls(request, response))
            origins += federation_hooks.form_origins(request)
            if origins:
                response["Content-Security-Policy"] = content_security_policy(tuple(origins))
        for name, value in self.headers.items():
            if name not in response:
                response[name] = value
        return response


# Accepted from a caller (load balancer, gateway): short, and nothing that could forge a log
# field or a header. Anything else is replaced by a fresh id.
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,64}")


class RequestIdMiddleware:
    """Take ``X-Request-ID`` when it is sane, else generate one; echo it and log with it.

    The id is also written back into ``request.META`` so the audit log records the sanitised
    value. The context variable is cleared on ``request_finished`` (``core.logs``), after
    Django has logged the response.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        request_finished.connect(reset_request_id, dispatch_uid="core.logs.reset")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        supplied = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = supplied if REQUEST_ID_PATTERN.fullmatch(supplied) else uuid.uuid4().hex
        request.META["HTTP_X_REQUEST_ID"] = request_id
        request_id_var.set(request_id)
        response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response


# Endpoints that receive client secrets, tokens or codes. Browser pages are redirected to
# https by Django's SecurityMiddleware instead; health probes and /metrics stay reachable.
CREDENTIAL_PATHS = (
    "/o/token/",
    "/o/introspect/",
    "/o/revoke_token/",
    "/o/userinfo/",
    "/o/device-authorization/",
    "/access/",
)


class PlainHttpRefusedMiddleware:
    """With ``SECURE_SSL_REDIRECT`` on, answer plain http on a credential-bearing endpoint
    with 403 rather than a redirect: a redirect would have the client send its secret or
    token again, after it already crossed the network in clear (RFC 9700 §4.16, ASVS 12.1)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            settings.SECURE_SSL_REDIRECT
            and not request.is_secure()
            and request.path_info.startswith(CREDENTIAL_PATHS)
        ):
            return oauth_error(
                "invalid_request",
                "This endpoint requires https. Behind a proxy that terminates TLS, list it in "
                "TRUSTED_PROXIES.",
                status=403,
            )
        return self.get_response(request)


class DatabaseUnavailableMiddleware:
    """A view that cannot reach the database answers 503 + ``Retry-After`` (JSON), not a 500,
    and the error is logged.

    Errors raised outside views (in other middleware) reach ``authserver.ops.server_error``,
    the ``handler500``, which gives the same answer.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, OperationalError | InterfaceError):
            # One line naming the error, no traceback: during an outage every request lands here.
            log.error(
                "database unavailable, answered 503: %s: %s", type(exception).__name__, exception
            )
            return ops.service_unavailable("database")
        return None


class BodyTooLargeMiddleware:
    """A body larger than ``DATA_UPLOAD_MAX_MEMORY_SIZE`` is answered 413 before anything reads
    it, in the format of the endpoint it was sent to (``authserver.errors``). Django would
    raise ``RequestDataTooBig`` wherever the body is first read (CSRF middleware, a form, DRF's
    parser): a 400 page or, in DRF, a 500. Its check is the same one, on ``Content-Length`` (a
    body without one is not read)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        length = request.META.get("CONTENT_LENGTH")
        if limit is not None and length and length.isdigit() and int(length) > limit:
            return errors.too_large(request, limit)
        return self.get_response(request)
