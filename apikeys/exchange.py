"""RFC 8693 token exchange of an API key for a short-lived JWT access token.

    POST /o/token/
    grant_type=urn:ietf:params:oauth:grant-type:token-exchange
    &subject_token=ask_...&subject_token_type=urn:authserver:token-type:api_key

The key authenticates the request (no other client credentials may be sent); the key's policy
applies as at every door (``apikeys.policy``: source address in its allow-list, else
``invalid_client``; its one rate budget, else 429 with ``Retry-After``). The answer is an
RFC 9068 access token whose ``roles`` are the key's effective roles. ``resource`` and
``audience`` (RFC 8693 §2.1, repeatable: API identifiers or audiences) follow the token
endpoint's rule: each must be a registered API that the key's owning client lists in its
``resources`` (a user's key has no client, so none), else ``invalid_target``; the token's
``aud`` names them, or is the issuer when none is asked for (audience-less). Registered on
our oauthlib server through ``oauth.server.extension_grants``.
"""

from __future__ import annotations

import json
from typing import Any

from oauthlib.oauth2.rfc6749 import errors
from oauthlib.oauth2.rfc6749.grant_types.base import GrantTypeBase

from apikeys import network, policy, services
from oauth import apis, tokens
from oauth.selectors import client_get

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:token-exchange"
API_KEY_TOKEN_TYPE = "urn:authserver:token-type:api_key"
INVALID_KEY = "The API key is invalid, expired, revoked or not usable from here."
CLIENT_CREDENTIAL_PARAMS = ("client_secret", "client_assertion", "client_assertion_type")
TARGET_PARAMS = ("resource", "audience")


class RateLimited(errors.OAuth2Error):
    """Too many requests for this key (RFC 6585 §4)."""

    error = "rate_limited"
    status_code = 429

    def __init__(self, retry_after: int, **kwargs: Any) -> None:
        super().__init__(description="Too many requests for this API key.", **kwargs)
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class TokenExchangeGrant(GrantTypeBase):
    def create_token_response(self, request: Any, token_handler: Any) -> tuple[dict, str, int]:
        headers = self._get_default_headers()
        try:
            body = self._exchange(request)
        except errors.OAuth2Error as exc:
            headers.update(exc.headers)
            return headers, exc.json, exc.status_code
        return headers, json.dumps(body), 200

    def _exchange(self, request: Any) -> dict[str, Any]:
        params = dict(request.decoded_body or [])
        if request.headers.get("Authorization") or any(
            p in params for p in CLIENT_CREDENTIAL_PARAMS
        ):
            raise errors.InvalidRequestError(
                description="The API key authenticates this request; send no client credentials.",
                request=request,
            )
        if params.get("subject_token_type") != API_KEY_TOKEN_TYPE:
            raise errors.InvalidRequestError(
                description=f"subject_token_type must be {API_KEY_TOKEN_TYPE}.", request=request
            )
        if not params.get("subject_token"):
            raise errors.InvalidRequestError(
                description="Missing subject_token parameter.", request=request
            )
        if "actor_token" in params:
            raise errors.InvalidRequestError(
                description="Delegation (actor_token) is not supported.", request=request
            )
        if params.get("requested_token_type", services.ACCESS_TOKEN_TYPE) != (
            services.ACCESS_TOKEN_TYPE
        ):
            raise errors.InvalidRequestError(
                description=f"Only {services.ACCESS_TOKEN_TYPE} can be issued.", request=request
            )
        verdict = policy.check(
            params["subject_token"],
            client_ip=network.client_ip(request.headers),
            surface="token_exchange",
        )
        if verdict.retry_after is not None:
            raise RateLimited(verdict.retry_after, request=request)
        auth = verdict.auth
        if auth is None:
            raise errors.InvalidClientError(description=INVALID_KEY, request=request)
        request.client = client_get(auth.owner.client_id) if auth.owner.client_id else None
        requested = [v for k, v in request.decoded_body or [] if k in TARGET_PARAMS]
        resources = request.client.resources if request.client is not None else ()
        error = apis.target_error(requested, resources)
        if error is not None:
            raise errors.CustomOAuth2Error(
                error="invalid_target", description=error, request=request
            )
        # the audiences, as the token endpoint settles ``resource`` (an API's lifetime caps)
        request.resource = list(dict.fromkeys(map(apis.audience_of, requested)))
        body = services.api_key_token_issue(
            auth=auth,
            client=request.client,
            lifetime=tokens.access_token_lifetime(request),
            audiences=tuple(request.resource),
        )
        if body is None:
            raise errors.InvalidClientError(description=INVALID_KEY, request=request)
        return body
