"""RFC 9457 problem details for every error of the management API, mapped in one place.

Each kind of error has a stable ``type`` URI (``https://authserver.dev/problems/<slug>``) and
title; ``detail`` says what went wrong in terms of the request, never internals (no stack trace,
SQL, path or exception text of an unexpected error). Validation errors add an ``errors`` member
with the messages per field. Refused permission checks are also written to the audit log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from rest_framework import exceptions
from rest_framework.views import set_rollback

from audit.services import record
from core import responses
from roles import access
from roles.decisions import Principal

log = logging.getLogger("authserver.api")

PROBLEM_BASE = "https://authserver.dev/problems/"


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


def problem_response(
    problem: ProblemType, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> HttpResponse:
    """``problem`` rendered by ``core.responses.problem``: in DRF's exception handler (DRF
    accepts any response there) and outside DRF's views (URL resolution, middleware)."""
    return responses.problem(
        problem.status, detail, title=problem.title, type=problem.uri, headers=headers, **extra
    )


def _django_errors(exc: DjangoValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {field: list(messages) for field, messages in exc.message_dict.items()}
    return {"non_field_errors": list(exc.messages)}


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


def exception_handler(exc: Exception, context: dict[str, Any]) -> HttpResponse:
    """DRF's ``EXCEPTION_HANDLER`` for the management API: everything becomes a problem."""
    set_rollback()
    request = context.get("request")
    if isinstance(exc, (access.NotFound, Http404)):
        return problem_response(NOT_FOUND, "The requested resource does not exist.")
    if isinstance(exc, (access.AccessError, access.ReauthenticationRequired)):
        if request is not None:
            _audit_denial(request, exc)
        return problem_response(_DENIALS.get(type(exc), PERMISSION_DENIED), str(exc))
    if isinstance(exc, DjangoValidationError):
        errors = _django_errors(exc)
        return problem_response(VALIDATION, "The request failed validation.", errors=errors)
    if isinstance(exc, exceptions.APIException):
        return _api_exception(exc)
    log.exception("unhandled error in the management API")
    return problem_response(INTERNAL, "The server could not complete the request.")


def _api_exception(exc: exceptions.APIException) -> HttpResponse:
    problem = next((p for cls, p in _DRF_TYPES if isinstance(exc, cls)), None)
    headers: dict[str, str] = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))
    if problem is VALIDATION:
        return problem_response(
            VALIDATION, "The request failed validation.", headers, errors=exc.detail
        )
    if problem is None:  # another APIException: keep its status, with a generic type
        status = exc.status_code
        problem = ProblemType("http-" + str(status), "Request failed", status)
    detail = exc.detail if isinstance(exc.detail, str) else problem.title
    return problem_response(problem, str(detail), headers)


def not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """Paths under /api/ that match no endpoint (and unknown API versions)."""
    return problem_response(NOT_FOUND, "The requested resource does not exist.")
