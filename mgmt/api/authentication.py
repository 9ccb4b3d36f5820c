"""Who is calling: a DRF authentication class over our own access tokens.

``Authorization: Bearer <access token>`` is checked exactly as introspection checks it
(``oauth.introspection.active_access_token`` through ``roles.decisions.principal_for_token``):
a stored row, not expired, client and user active. Revocation deletes the row, so a revoked
token fails on the very next call. ``request.user`` becomes the ``Principal`` (who, and what
its roles grant); ``request.auth`` the token.

API keys (issue 6) plug in here: ``principal_for_token`` is where a key is recognised by its
prefix, so keys sent as Bearer work through this class unchanged; a key sent in a header of its
own gets its own class next to this one in ``views.ManagementApi.authentication_classes``.
"""

from __future__ import annotations

from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from roles.decisions import Principal, principal_for_token

REALM = "authserver"


class BearerTokenAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Principal, str] | None:
        scheme, _, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() != "bearer":
            return None  # no credentials: 401 with a challenge once a permission is needed
        token = value.strip()
        principal = principal_for_token(token) if token else None
        if principal is None:
            raise AuthenticationFailed("The access token is invalid, expired or revoked.")
        return principal, token

    def authenticate_header(self, request: Request) -> str:
        return f'Bearer realm="{REALM}"'
