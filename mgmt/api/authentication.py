"""Who is calling: a DRF authentication class over our own access tokens.

``Authorization: Bearer <access token>`` is checked exactly as introspection checks it
(``oauth.introspection.active_access_token`` through ``roles.decisions.principal_for_token``):
a stored row, not expired, client and user active. Revocation deletes the row, so a revoked
token fails on the very next call. ``request.user`` becomes the ``Principal`` (who, and what
its roles grant); ``request.auth`` the token.

The management API is a built-in registered API (``oauth.apis``): an access token is accepted
only if it was issued for it (``aud`` includes ``<ISSUER_URL>/api/v1/``), with the
``management`` scope, to a client that still lists ``management`` in its ``resources``.
Anything else is 401 ``invalid_token`` with a challenge naming the audience and scope to ask
for (RFC 6750 §3). Then the caller's roles decide, as for every caller.

API keys (issue 6) plug in here: ``principal_for_token`` is where a key is recognised by its
prefix, so keys sent as Bearer work through this class under their policy, as at every door: a
key from outside its allow-list is 401, one over its rate budget 429 with ``Retry-After``.
"""

from __future__ import annotations

from typing import Any

from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed, Throttled
from rest_framework.request import Request

from apikeys.credentials import PREFIX as API_KEY_PREFIX
from oauth import apis, binding, dpop
from oauth.selectors import client_get
from roles.decisions import OverBudget, Principal, principal_for_token

REALM = "authserver"
INVALID = "The access token is invalid, expired or revoked."


def management_refusal(claims: dict[str, Any]) -> str | None:
    """Why an active access token with ``claims`` is not a management-API token, or None."""
    audience = apis.management_audience()
    if set(apis.token_audiences(claims)) != {audience}:
        # a token naming other APIs too could be replayed here by any of them
        return (
            "The access token is not for the management API alone: request it with "
            f"resource={audience} and no other resource."
        )
    if apis.MANAGEMENT_SCOPE not in str(claims.get("scope", "")).split():
        return f"The access token lacks the {apis.MANAGEMENT_SCOPE} scope."
    client = client_get(str(claims.get("client_id", "")))
    if client is None or audience not in apis.client_audiences(client.resources):
        return "The access token's client may not use the management API."
    return None


def _principal(token: str, client_ip: str | None) -> Principal | None:
    """An API key's policy applies here as at every door (``apikeys.policy``): its allow-list,
    against the caller's address as ``core.proxy`` resolved it, and its rate budget."""
    try:
        return principal_for_token(token, client_ip=client_ip, surface="management")
    except OverBudget as over:
        raise Throttled(over.retry_after, "Too many requests for this API key.") from None


class BearerTokenAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Principal, str] | None:
        scheme, _, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() not in ("bearer", "dpop"):
            return None  # no credentials: 401 with a challenge once a permission is needed
        django_request = request._request
        token, problem, _challenge = binding.presented(
            django_request, method=request.method, url=dpop.endpoint_url(django_request)
        )
        if problem is not None:  # a bound token without its proof (RFC 9449, RFC 8705)
            raise self._refused(request, problem)
        principal = _principal(token, request.META.get("REMOTE_ADDR")) if token else None
        if principal is None:
            raise self._refused(request, INVALID)
        is_key = token.startswith(API_KEY_PREFIX)  # a key's own policy applied, above
        refusal = None if is_key else management_refusal(principal.claims or {})
        if refusal is not None:
            raise self._refused(request, refusal)
        return principal, token

    @staticmethod
    def _refused(request: Request, description: str) -> AuthenticationFailed:
        request.bearer_error = description  # for the challenge (authenticate_header)
        return AuthenticationFailed(description)

    def authenticate_header(self, request: Request) -> str:
        """RFC 6750 §3: the realm, and for a refused token the error and what to ask for."""
        challenge = f'Bearer realm="{REALM}"'
        description = getattr(request, "bearer_error", None)
        if description is None:
            return challenge
        return (
            f'{challenge}, error="invalid_token", error_description="{description}", '
            f'resource="{apis.management_audience()}", scope="{apis.MANAGEMENT_SCOPE}"'
        )
