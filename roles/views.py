"""AuthZEN endpoints (machine endpoints: no session, no CSRF, JSON in and out).

Callers authenticate as a client, with HTTP Basic (client secret) or a Bearer access token of
the client's own (client credentials); none or bad credentials get 401, a client whose roles do
not grant ``authz:evaluate`` gets 403. Errors are RFC 9457 problem details. ``X-Request-ID`` is
echoed (AuthZEN §11.1) when it is printable ASCII of sane length.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from audit.models import AuditEvent
from audit.services import record
from core import jsonbody, responses
from core.responses import json_response
from oauth import binding, dpop
from oauth.client_auth.secret import authenticate_client
from roles import authzen, decisions

EVALUATE_PERMISSION = "authz:evaluate"
NO_STORE = {"Cache-Control": "no-store"}
REQUEST_ID_RE = re.compile(r"[ -~]{1,200}")
CHALLENGE = 'Basic realm="authserver", Bearer realm="authserver"'
TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    405: "Method Not Allowed",
    413: "Content Too Large",
    415: "Unsupported Media Type",
}


def problem(status: int, detail: str, **headers: str) -> HttpResponse:
    """An RFC 9457 problem details response (``about:blank``: the status says it all)."""
    return responses.problem(status, detail, title=TITLES[status], headers=headers)


def caller_principal(request: HttpRequest) -> decisions.Principal | None:
    """The calling client, proven by HTTP Basic or by its own access token (``Bearer``, or
    ``DPoP`` with a proof of the key a DPoP-bound token is bound to)."""
    scheme, _, _value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() in ("bearer", "dpop"):
        presented = binding.presented(request, method="POST", url=dpop.endpoint_url(request))
        if presented.problem is not None:
            return None
        principal = decisions.principal_for_access_token(presented.token)
        return principal if principal is not None and principal.username is None else None
    client = authenticate_client(request)
    return decisions.principal_for_client(client.client_id) if client is not None else None


def _handle(request: HttpRequest, evaluate: Callable[..., dict[str, Any]]) -> HttpResponse:
    if request.method != "POST":
        return problem(405, "Use POST.", Allow="POST")
    caller = caller_principal(request)
    if caller is None:
        _denied(request, "access.caller_denied", reason="client authentication failed")
        return problem(401, "Client authentication failed.", **{"WWW-Authenticate": CHALLENGE})
    if not caller.grant.allows(EVALUATE_PERMISSION, None, None):
        _denied(request, "access.caller_denied", caller.client_id, reason=EVALUATE_PERMISSION)
        return problem(403, f"This client lacks the {EVALUATE_PERMISSION} permission.")
    if request.content_type != "application/json":
        return problem(415, "The body must be application/json.")
    try:
        body = jsonbody.loads(request.body)  # too large a body: 413 (authserver.middleware)
    except jsonbody.MalformedJson as exc:
        return problem(400, str(exc))
    try:
        result = evaluate(body, caller_client_id=caller.client_id)
    except authzen.RequestError as exc:
        return problem(400, str(exc))
    answers = result.get("evaluations", [result])
    denied = sum(1 for answer in answers if answer.get("decision") is False)
    if denied:
        _denied(request, "access.denied", caller.client_id, denied=denied, of=len(answers))
    return json_response(result, NO_STORE)


def _denied(request: HttpRequest, event: str, caller: str | None = "", **data: Any) -> None:
    """Audit a refusal (deferred: stored in a batch after the response)."""
    record(
        event,
        actor=caller or "",
        client_id=caller or "",
        outcome=AuditEvent.Outcome.DENIED,
        request=request,
        deferred=True,
        **data,
    )


def _endpoint(evaluate: Callable[..., dict[str, Any]]) -> Callable[[HttpRequest], HttpResponse]:
    @csrf_exempt
    def view(request: HttpRequest) -> HttpResponse:
        response = _handle(request, evaluate)
        request_id = request.META.get("HTTP_X_REQUEST_ID")  # request.headers copies them all
        if request_id and REQUEST_ID_RE.fullmatch(request_id):
            response["X-Request-ID"] = request_id
        return response

    return view


evaluation = _endpoint(authzen.evaluate)
evaluations = _endpoint(authzen.evaluate_batch)


def configuration(request: HttpRequest) -> JsonResponse:
    """AuthZEN §9 policy decision point metadata."""
    base = settings.ISSUER_URL
    document = {
        "policy_decision_point": base,
        "access_evaluation_endpoint": f"{base}/access/v1/evaluation",
        "access_evaluations_endpoint": f"{base}/access/v1/evaluations",
    }
    return JsonResponse(document, headers={"Cache-Control": "public, max-age=300"})
