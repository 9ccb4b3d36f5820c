"""RFC 9457 problem details for every error of the management API, mapped in one place.

Each kind of error has a stable ``type`` URI (``https://authserver.dev/problems/<slug>``) and
title; ``detail`` says what went wrong in terms of the request, never internals (no stack trace,
SQL, path or exception text of an unexpected error). Validation errors add an ``errors`` member
listing every message, ``{"field": ..., "detail": ...}`` each: ``field`` is the dotted path of
the input (``redirect_uris.1``, ``jwks.keys``), null for an error of the whole request. A 404
names what was missing ("client 'abc' not found"). Refused permission checks are also written to
the audit log.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import set_rollback

from audit.services import record
from roles import access
from roles.decisions import Principal

log = logging.getLogger("authserver.api")

PROBLEM_BASE = "https://authserver.dev/problems/"
PROBLEM_CONTENT_TYPE = "application/problem+json"


@dataclass(frozen=True)
class ProblemType:
    slug: str
    title: str
    status: int

    @property
    def uri(self) -> str:
        return PROBLEM_BASE + self.slug


VALIDATION = ProblemType("validation-error", "The request is not valid", 400)
MALFORMED = ProblemType("malformed-request", "The request body could not be parsed", 400)
NOT_AUTHENTICATED = ProblemType("not-authenticated", "Authentication required", 401)
PERMISSION_DENIED = ProblemType("permission-denied", "Permission denied", 403)
ESCALATION = ProblemType("privilege-escalation", "Privilege escalation refused", 403)
# The slug issue 15 names (SECURITY 85): a person's token whose second factor is not fresh.
REAUTHENTICATION = ProblemType("reauthentication_required", "Re-authentication required", 403)
NOT_FOUND = ProblemType("not-found", "Not found", 404)
METHOD_NOT_ALLOWED = ProblemType("method-not-allowed", "Method not allowed", 405)
NOT_ACCEPTABLE = ProblemType("not-acceptable", "Not acceptable", 406)
CONTENT_TOO_LARGE = ProblemType("content-too-large", "Content too large", 413)
UNSUPPORTED_MEDIA_TYPE = ProblemType("unsupported-media-type", "Unsupported media type", 415)
THROTTLED = ProblemType("throttled", "Too many requests", 429)
INTERNAL = ProblemType("internal-error", "Internal server error", 500)
PROBLEM_TYPES = (
    VALIDATION,
    MALFORMED,
    NOT_AUTHENTICATED,
    PERMISSION_DENIED,
    ESCALATION,
    REAUTHENTICATION,
    NOT_FOUND,
    METHOD_NOT_ALLOWED,
    NOT_ACCEPTABLE,
    CONTENT_TOO_LARGE,
    UNSUPPORTED_MEDIA_TYPE,
    THROTTLED,
    INTERNAL,
)

# Refused access decisions with a type of their own (any other: permission denied).
_DENIALS: dict[type[Exception], ProblemType] = {
    access.EscalationDenied: ESCALATION,
    access.ReauthenticationRequired: REAUTHENTICATION,
}

# DRF's exceptions whose meaning is fixed, by class (first match wins).
_DRF_TYPES: tuple[tuple[type[exceptions.APIException], ProblemType], ...] = (
    (exceptions.ValidationError, VALIDATION),
    (exceptions.ParseError, MALFORMED),
    (exceptions.NotAuthenticated, NOT_AUTHENTICATED),
    (exceptions.AuthenticationFailed, NOT_AUTHENTICATED),
    (exceptions.PermissionDenied, PERMISSION_DENIED),
    (exceptions.NotFound, NOT_FOUND),
    (exceptions.MethodNotAllowed, METHOD_NOT_ALLOWED),
    (exceptions.NotAcceptable, NOT_ACCEPTABLE),
    (exceptions.UnsupportedMediaType, UNSUPPORTED_MEDIA_TYPE),
    (exceptions.Throttled, THROTTLED),
)


def problem_body(problem: ProblemType, detail: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": problem.uri,
        "title": problem.title,
        "status": problem.status,
        "detail": detail,
        **extra,
    }


def _response(
    problem: ProblemType, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> Response:
    return Response(
        problem_body(problem, detail, **extra),
        status=problem.status,
        headers={"Cache-Control": "no-store", **(headers or {})},
        content_type=PROBLEM_CONTENT_TYPE,
    )


# Keys DRF and Django use for errors of the whole input rather than one field.
_WHOLE_INPUT = {api_settings.NON_FIELD_ERRORS_KEY, NON_FIELD_ERRORS}


def field_errors(detail: Any, path: tuple[str, ...] = ()) -> Iterator[dict[str, str | None]]:
    """Every message of a validation error's detail (DRF's nested dicts and lists, or Django's
    ``message_dict``), as ``{"field": dotted path or None, "detail": message}``."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            yield from field_errors(value, path if key in _WHOLE_INPUT else (*path, str(key)))
    elif isinstance(detail, list | tuple):
        for index, item in enumerate(detail):
            yield from field_errors(item, path if isinstance(item, str) else (*path, str(index)))
    else:
        yield {"field": ".".join(path) or None, "detail": str(detail)}


def _line(error: dict[str, str | None]) -> str:
    return f"{error['field']}: {error['detail']}" if error["field"] else str(error["detail"])


def _validation(detail: Any, headers: dict[str, str] | None = None) -> Response:
    errors = list(field_errors(detail))
    summary = "; ".join(_line(e) for e in errors)
    return _response(VALIDATION, summary or VALIDATION.title + ".", headers, errors=errors)


def _django_detail(exc: DjangoValidationError) -> Any:
    return exc.message_dict if hasattr(exc, "error_dict") else exc.messages


def _audit_denial(
    request: HttpRequest, exc: access.AccessError | access.ReauthenticationRequired
) -> None:
    principal = getattr(request, "user", None)
    if not isinstance(principal, Principal):
        return
    record(
        "api.denied",
        actor=principal.username or f"client:{principal.client_id}",
        target=f"{request.method} {request.path}"[:255],
        outcome="denied",
        request=request,
        reason=str(exc),
    )


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF's ``EXCEPTION_HANDLER`` for the management API: everything becomes a problem."""
    set_rollback()
    request = context.get("request")
    if isinstance(exc, access.NotFound):
        return _response(NOT_FOUND, str(exc))
    if isinstance(exc, Http404):
        return _response(NOT_FOUND, "The requested resource does not exist.")
    if isinstance(exc, (access.AccessError, access.ReauthenticationRequired)):
        if request is not None:
            _audit_denial(request, exc)
        return _response(_DENIALS.get(type(exc), PERMISSION_DENIED), str(exc))
    if isinstance(exc, DjangoValidationError):
        return _validation(_django_detail(exc))
    if isinstance(exc, exceptions.APIException):
        return _api_exception(exc)
    log.exception("unhandled error in the management API")
    return _response(INTERNAL, "The server could not complete the request.")


def _api_exception(exc: exceptions.APIException) -> Response:
    problem = next((p for cls, p in _DRF_TYPES if isinstance(exc, cls)), None)
    headers: dict[str, str] = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))
    if problem is VALIDATION:
        return _validation(exc.detail, headers)
    if problem is None:  # another APIException: keep its status, with a generic type
        status = exc.status_code
        problem = ProblemType("http-" + str(status), "Request failed", status)
    detail = exc.detail if isinstance(exc.detail, str) else problem.title
    return _response(problem, str(detail), headers)


def problem_response(problem: ProblemType, detail: str) -> HttpResponse:
    """A problem answered outside DRF's views (URL resolution, middleware)."""
    return JsonResponse(
        problem_body(problem, detail),
        status=problem.status,
        content_type=PROBLEM_CONTENT_TYPE,
        headers={"Cache-Control": "no-store"},
    )


def not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """Paths under /api/ that match no endpoint (and unknown API versions)."""
    return problem_response(NOT_FOUND, "The requested resource does not exist.")
