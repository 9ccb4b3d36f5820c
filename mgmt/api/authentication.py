"""Who is calling: a DRF authentication class over our own access tokens.

``Authorization: Bearer <access token>`` is checked exactly as introspection checks it
(``oauth.introspection.active_access_token`` through ``roles.decisions.principal_for_token``):
a stored row, not expired, client and user active. Revocation deletes the row, so a revoked
token fails on the very next call. ``request.user`` becomes the ``Principal`` (who, and what
its roles grant); ``request.auth`` the token.

API keys (issue 6) plug in here: ``principal_for_token`` is where a key is recognised by its
prefix, so keys sent as Bearer work through this class under their policy, as at every door: a
key from outside its allow-list is 401, one over its rate budget 429 with ``Retry-After``.
"""

from __future__ import annotations

from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed, Throttled
from rest_framework.request import Request

from roles.decisions import OverBudget, Principal, principal_for_token

REALM = "authserver"


def _principal(token: str, client_ip: str | None) -> Principal | None:
    """An API key's policy applies here as at every door (``apikeys.policy``): its allow-list,
    against the caller's address as ``authserver.proxy`` resolved it, and its rate budget."""
    try:
        return principal_for_token(token, client_ip=client_ip, surface="management")
    except OverBudget as over:
        raise Throttled(over.retry_after, "Too many requests for this API key.") from None


class BearerTokenAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Principal, str] | None:
        scheme, _, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() != "bearer":
            return None  # no credentials: 401 with a challenge once a permission is needed
        token = value.strip()
        principal = _principal(token, request.META.get("REMOTE_ADDR")) if token else None
        if principal is None:
            raise AuthenticationFailed("The access token is invalid, expired or revoked.")
        return principal, token

    def authenticate_header(self, request: Request) -> str:
        return f'Bearer realm="{REALM}"'
