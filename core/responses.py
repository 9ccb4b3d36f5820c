"""One renderer per response format: JSON, RFC 6749 OAuth errors, RFC 9457 problem details."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django.http import HttpResponse

# Never cached: tokens, errors about credentials (RFC 6749 §5.1).
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
PROBLEM_CONTENT_TYPE = "application/problem+json"


def json_response(
    data: Any,
    headers: Mapping[str, str],
    *,
    status: int = 200,
    content_type: str = "application/json",
) -> HttpResponse:
    """``data`` (plain JSON types) as a JSON response. ``JsonResponse`` builds a
    ``DjangoJSONEncoder`` for every response; ``json.dumps`` reuses the module's encoder."""
    return HttpResponse(json.dumps(data), status=status, content_type=content_type, headers=headers)


def oauth_error(error: str, description: str, status: int = 400, **headers: str) -> HttpResponse:
    """An RFC 6749 §5.2 error body, never cached."""
    body = {"error": error, "error_description": description}
    return json_response(body, {**NO_STORE, **headers}, status=status)


def problem(
    status: int,
    detail: str,
    *,
    title: str,
    type: str = "about:blank",  # noqa: A002 - the RFC 9457 member's name
    headers: Mapping[str, str] | None = None,
    **members: Any,
) -> HttpResponse:
    """An RFC 9457 problem details response (``members``: extension members), never cached."""
    body = {"type": type, "title": title, "status": status, "detail": detail, **members}
    return json_response(
        body,
        {"Cache-Control": "no-store", **(headers or {})},
        status=status,
        content_type=PROBLEM_CONTENT_TYPE,
    )
