"""Gateway enforcement: the endpoint an API gateway calls before forwarding each request.

- nginx ``auth_request``: ``/gateway/auth`` with the original request in ``X-Original-Method``
  and ``X-Original-URI`` (set by nginx, see examples/nginx/).
- Envoy ``ext_authz`` (HTTP service): ``path_prefix: /gateway/envoy``; Envoy sends the original
  method and path, so ``/gateway/envoy/api/orders`` decides ``GET /api/orders``.

The credential is ``Authorization: Bearer <access token or API key>``, ``Authorization: DPoP
<access token>`` with its ``DPoP`` proof (RFC 9449; a DPoP-bound token needs it), or
``X-API-Key``. The
gateway names the registered API it fronts in ``X-Auth-Audience`` (its identifier, set per
location by the gateway's configuration; none, or one not registered, is 403: a misconfigured
gateway fails closed), and only credentials meant for that API pass (``oauth.apis.meant_for``:
its audience in the token's ``aud``, or an audience-less token or API key). The decision is the
AuthZEN one (``roles.decisions``). Answers: 200 with identity headers for the upstream, 401 with
``WWW-Authenticate`` when there is no valid credential for this API, 403 when the policy denies,
429 with ``Retry-After`` over the rate limit: ``GATEWAY_RATE_LIMIT`` per client or user, an API
key's own budget for a key, shared with every other door (for nginx: 403 with
``X-Auth-Reason: rate_limited``, mapped back to 429 by the nginx config). Identity headers are
only ever set here; the gateway overwrites whatever the client sent (examples/nginx/).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from audit.models import AuditEvent
from audit.services import record
from core import limits
from oauth import apis, binding
from roles import decisions

CHALLENGE = 'Bearer realm="authserver"'
NOT_MEANT_FOR_US = 'error_description="The access token is not meant for this API"'
GATEWAY_RATE = limits.Rate("gateway", "GATEWAY_RATE_LIMIT", window=60)  # per client or user


def _credential(request: HttpRequest) -> str:
    scheme, _, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() in ("bearer", "dpop") and value.strip():
        return value.strip()
    return request.META.get("HTTP_X_API_KEY", "").strip()


def _has_own_budget(credential: str) -> bool:
    """A credential a resolver answers for (an API key: ``decisions.credential_resolvers``),
    whose one rate budget that resolver keeps at every door."""
    return any(credential.startswith(prefix) for prefix in decisions.credential_resolvers)


def _answer(status: int, **headers: str) -> HttpResponse:
    return HttpResponse(status=status, headers={"Cache-Control": "no-store", **headers})


def _limited(retry_after: int, status: int) -> HttpResponse:
    return _answer(status, **{"Retry-After": str(retry_after), "X-Auth-Reason": "rate_limited"})


def _fronted_audience(request: HttpRequest) -> str | None:
    """The audience of the registered API the gateway says it fronts, or None."""
    audience = apis.audience_of(request.META.get("HTTP_X_AUTH_AUDIENCE", "").strip())
    return audience if apis.api_for_audience(audience) is not None else None


def decide(request: HttpRequest, method: str, uri: str, *, limited_status: int) -> HttpResponse:
    audience = _fronted_audience(request)
    if audience is None:
        return _answer(403)  # a gateway that names no registered API must fail closed
    credential = _credential(request)
    if not credential:
        return _answer(401, **{"WWW-Authenticate": CHALLENGE})
    # a DPoP-bound token passes only with a proof of its key for the original request (the
    # gateway forwards ``DPoP``; its method and path are checked, the host is the gateway's),
    # a certificate-bound one only with the client certificate the gateway forwards
    presented = binding.presented(request, method=method, url=uri.split("?", 1)[0])
    if presented.problem is not None:
        _denied(request, method, uri, 401)
        return _answer(401, **{"WWW-Authenticate": presented.www_authenticate()})
    # presented by its holder, from the address the gateway forwards (core.proxy): an
    # API key's allow-list applies, and its one rate budget (apikeys.policy)
    try:
        principal = decisions.principal_for_token(
            credential, client_ip=request.META.get("REMOTE_ADDR"), surface="gateway"
        )
    except decisions.OverBudget as over:
        return _limited(over.retry_after, limited_status)
    if principal is None:
        _denied(request, method, uri, 401)
        return _answer(401, **{"WWW-Authenticate": f'{CHALLENGE}, error="invalid_token"'})
    if principal.claims is None or not apis.meant_for(audience, principal.claims):
        _denied(request, method, uri, 401, principal)
        challenge = f'{CHALLENGE}, error="invalid_token", {NOT_MEANT_FOR_US}'
        return _answer(401, **{"WWW-Authenticate": challenge})
    if not _has_own_budget(credential):  # a key was counted against its own budget, above
        limited_by = principal.client_id or principal.sub
        retry_after = limits.hit(GATEWAY_RATE, limited_by)
        if retry_after is not None:
            return _limited(retry_after, limited_status)
    if not decisions.evaluate(principal, method, "route", uri):
        _denied(request, method, uri, 403, principal)
        return _answer(403)
    return _answer(
        200,
        **{
            "X-Auth-Subject": principal.sub,
            "X-Auth-Client": principal.client_id or "",
            "X-Auth-Roles": ",".join(sorted(principal.grant.roles)),
        },
    )


def _denied(
    request: HttpRequest,
    method: str,
    uri: str,
    status: int,
    principal: decisions.Principal | None = None,
) -> None:
    """Audit a refused request (deferred: stored in a batch after the response)."""
    record(
        "gateway.denied",
        actor=principal.sub if principal is not None else "",
        client_id=(principal.client_id or "") if principal is not None else "",
        outcome=AuditEvent.Outcome.DENIED,
        request=request,
        deferred=True,
        method=method[:16],
        uri=uri[:256],
        status=status,
    )


@csrf_exempt
def nginx_auth(request: HttpRequest) -> HttpResponse:
    method = request.META.get("HTTP_X_ORIGINAL_METHOD", "")
    uri = request.META.get("HTTP_X_ORIGINAL_URI", "")
    if not method or not uri.startswith("/"):
        return _answer(403)  # a misconfigured gateway must fail closed
    # auth_request passes only 2xx/401/403 on, so a rate limit is a 403 carrying
    # X-Auth-Reason, which the nginx config turns back into 429 (examples/nginx/).
    return decide(request, method, uri, limited_status=403)


@csrf_exempt
def envoy_auth(request: HttpRequest, path: str = "") -> HttpResponse:
    query = request.META.get("QUERY_STRING", "")
    uri = "/" + path + (f"?{query}" if query else "")
    return decide(request, request.method or "", uri, limited_status=429)
