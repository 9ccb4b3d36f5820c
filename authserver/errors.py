"""Errors answered outside views, in the format of the endpoint the request was sent to.

Problem details on the management API (``/api/``) and AuthZEN (``/access/``), an RFC 6749-style
JSON error on the other machine endpoints (token, introspection, device authorization, ...), a
readable page in the browser. Used for a body too large to read (``BodyTooLargeMiddleware``)
and as ``handler400`` (a body Django cannot parse: a broken multipart form, too many fields).
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mgmt.api import errors as api_errors
from roles import views as authzen_views

PAGE_TITLES = {400: gettext_lazy("Bad request"), 413: gettext_lazy("Request too large")}
API_PROBLEMS = {400: api_errors.MALFORMED, 413: api_errors.CONTENT_TOO_LARGE}


def request_error(request: HttpRequest, status: int, detail: str) -> HttpResponse:
    """``status`` (400 or 413) with ``detail``, in the endpoint's format."""
    path = request.path_info
    if path.startswith("/api/"):
        return api_errors.problem_response(API_PROBLEMS[status], detail)
    if path.startswith("/access/"):
        return authzen_views.problem(status, detail)
    if path.startswith(settings.MACHINE_PATH_PREFIXES):
        return JsonResponse(
            {"error": "invalid_request", "error_description": detail},
            status=status,
            headers={"Cache-Control": "no-store"},
        )
    context = {"title": PAGE_TITLES[status], "detail": detail}
    return render(request, "request_error.html", context, status=status)


def too_large(request: HttpRequest, limit: int) -> HttpResponse:
    return request_error(
        request, 413, _("The request body is larger than %(limit)d bytes.") % {"limit": limit}
    )


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """``handler400``: Django refused the request (an unparsable body, too many fields)."""
    return request_error(request, 400, _("The request could not be parsed."))
