"""Our django-oauth-toolkit validator: DOT's documented hooks, overridden where policy differs.

What changes against DOT's ``OAuth2Validator``:
- clients come from a per-process cache (``oauth.selectors.client_get``), secrets are checked
  with the HMAC hasher, and ``private_key_jwt`` (RFC 7523) is accepted for registered clients
  (``oauth.client_auth.private_key_jwt``), and so are mutual TLS ``tls_client_auth`` and
  ``self_signed_tls_client_auth`` (RFC 8705, ``oauth.client_auth.mtls``);
- a client may use exactly the grant types listed on it; only ``response_type=code``;
- authorization codes are stored as keyed hashes, consumed only if still there (in the one
  transaction that stores the tokens), and a replayed code revokes what it issued;
- refresh tokens are issued only with ``offline_access``, rotate with reuse detection (DOT), and
  also die at an absolute lifetime measured from the original sign-in;
- how the user authenticated (``auth_time``, ``amr``, ``acr``, ``sid``) travels in ``AuthContext``
  from the authorization request into every token of the family;
- ID tokens are signed with our rotating keys (RS256 by default, ES256 per client).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import jwt
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from jwcrypto import jwk
from oauth2_provider.models import (
    get_grant_model,
    get_id_token_model,
    get_refresh_token_model,
)
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauthlib.oauth2.rfc6749.errors import (
    CustomOAuth2Error,
    FatalClientError,
    InvalidGrantError,
)

from accounts.session import ACR_MFA
from core import clock, metrics
from oauth import apis, clienttokens, device, events, extensions, keys, profiles, rotation, tokens
from oauth.client_auth import mtls, private_key_jwt
from oauth.client_auth.secret import verify_client_secret
from oauth.codes import code_digest, revoke_replayed_code
from oauth.models import (
    GRANT_AUTHORIZATION_CODE,
    GRANT_CLIENT_CREDENTIALS,
    GRANT_DEVICE_CODE,
    GRANT_REFRESH_TOKEN,
    GRANT_TYPES,
    MTLS_AUTH_METHODS,
    AuthContext,
    Client,
)
from oauth.selectors import client_get

log = logging.getLogger(__name__)

# Grants whose tokens ``Validator.save_bearer_token`` stores itself (``oauth.rotation``).
_LEAN_GRANTS = frozenset({GRANT_AUTHORIZATION_CODE, GRANT_DEVICE_CODE, GRANT_REFRESH_TOKEN})

# Claims released per scope (OIDC Core §5.4), plus our ``roles`` scope.
CLAIM_SCOPES = {
    **OAuth2Validator.oidc_claim_scope,
    "roles": "roles",
}


# Callables (token, authenticated client) -> whether they handled the token (RFC 7009 for other
# credentials: API keys), registered by other apps' ready().
revokers: list[Callable[[str, Client | None], bool]] = []


BINDING_REFUSALS = {
    "jkt": "This grant is bound to a DPoP key: send a proof of that key.",
    "x5t#S256": "This grant is bound to a TLS client certificate: present that certificate.",
}


def _check_binding(context: AuthContext, request: Any) -> None:
    """A code or refresh token bound to a DPoP key or a TLS client certificate
    (``context.cnf``) is redeemed only with a proof of the same: ``invalid_grant`` otherwise
    (as node-oidc-provider answers)."""
    proven = tokens.confirmation(request)
    for name, value in context.cnf.items():
        if proven.get(name) != value:
            raise InvalidGrantError(description=BINDING_REFUSALS[name], request=request)


class Validator(OAuth2Validator):
    oidc_claim_scope = CLAIM_SCOPES

    # --- clients ---------------------------------------------------------------------------
    def _load_application(self, client_id: str, request: Any) -> Client | None:
        client = client_get(client_id)
        if client is None or not client.is_usable(request):
            return None
        request.client = client
        return client

    def authenticate_client(self, request: Any, *args: Any, **kwargs: Any) -> bool:
        params = dict(request.decoded_body or [])
        has_basic = bool(self._extract_basic_auth(request))
        if "client_assertion_type" in params or "client_assertion" in params:
            return not has_basic and private_key_jwt.authenticate_request(
                request, params, self._load_application
            )
        if has_basic and params.get("client_secret"):
            return False  # RFC 6749 §2.3: one authentication method per request
        client = None if has_basic else self._load_application(params.get("client_id", ""), request)
        if client is not None and client.token_endpoint_auth_method in MTLS_AUTH_METHODS:
            return "client_secret" not in params and mtls.authenticate_request(request, client)
        if not super().authenticate_client(request, *args, **kwargs):
            return False
        client = request.client
        if client.client_type == Client.CLIENT_PUBLIC:
            return client.token_endpoint_auth_method == "none"
        return client.token_endpoint_auth_method.startswith("client_secret") and bool(
            client.client_secret
        )

    def _check_secret(self, provided_secret: str, stored_secret: str) -> bool:
        return verify_client_secret(provided_secret, stored_secret)

    def client_authentication_required(self, request: Any, *args: Any, **kwargs: Any) -> bool:
        params = dict(request.decoded_body or [])
        if "client_assertion" in params:
            return True
        return super().client_authentication_required(request, *args, **kwargs)

    # --- grants ----------------------------------------------------------------------------
    def validate_grant_type(
        self, client_id: str, grant_type: str, client: Client, request: Any, *a: Any, **k: Any
    ) -> bool:
        return grant_type in GRANT_TYPES and grant_type in request.client.grant_types

    def validate_response_type(
        self, client_id: str, response_type: str, client: Client, request: Any, *a: Any, **k: Any
    ) -> bool:
        return response_type == "code" and GRANT_AUTHORIZATION_CODE in client.grant_types

    # --- authorization codes -----------------------------------------------------------------
    # A code is stored as its keyed hash (``code_digest``), like every other credential: the
    # ``Grant.code`` column never holds one that could be redeemed. At the token endpoint the
    # presented code is replaced by its digest once, before any lookup (``digest_presented_code``,
    # registered by ``oauth.server``), so DOT's lookups by ``code=`` (validate_code, PKCE,
    # redirect URI, nonce, resources, invalidation) and ours find the row unchanged.
    def save_authorization_code(self, client_id: str, code: dict, request: Any, *a: Any, **k: Any):
        # a copy: oauthlib redirects with the code it passed in
        grant = self._create_authorization_code(
            request, {**code, "code": code_digest(code["code"])}
        )
        data = getattr(request, "auth_context_data", None) or {}
        AuthContext.objects.create(
            grant=grant,
            user=request.user,
            client=request.client,
            auth_time=datetime.fromtimestamp(data.get("auth_time", clock.now()), tz=UTC),
            amr=list(data.get("amr", ["pwd"])),
            acr=str(data.get("acr", "1")),
            sid=str(data.get("sid", "")),
            cnf={"jkt": request.dpop_jkt} if getattr(request, "dpop_jkt", None) else {},
        )

    def digest_presented_code(self, request: Any) -> None:
        """oauthlib ``pre_token`` validator of the code grants: ``request.code`` becomes its
        digest for the rest of the request."""
        if request.code:
            request.code = code_digest(request.code)

    def _presented_grant(self, request: Any, digest: str) -> Any:
        """The code's grant row (with its sign-in context and user), read once per request,
        unlocked: the exchange deletes it in its write transaction only if it is still there
        (``save_bearer_token``), so of two concurrent redemptions of one code the second finds
        it gone. Every lookup of the code below (scopes, client, expiry, PKCE, redirect URI,
        nonce, the delete) answers from it."""
        cached = getattr(request, "presented_grant", None)
        if cached is not None and cached[0] == digest:
            return cached[1]
        grant = rotation.find_grant(digest)
        request.presented_grant = (digest, grant)
        return grant

    def _client_grant(self, request: Any, code: str) -> Any:
        """The presented code's grant if it was issued to the authenticated client."""
        grant = self._presented_grant(request, code)
        client = getattr(request, "client", None)
        if grant is None or client is None or grant.application_id != client.pk:
            return None
        return grant

    def get_authorization_code_scopes(
        self, client_id: str, code: str, redirect_uri: str, request: Any
    ) -> list[str]:
        """Called with the code as presented: oauthlib's dispatcher asks it (OIDC or plain
        OAuth) before the grant's validators run."""
        grant = self._presented_grant(request, code_digest(code))
        return grant.scope.split() if grant is not None and grant.scope else []

    def validate_code(
        self, client_id: str, code: str, client: Client, request: Any, *a: Any, **k: Any
    ) -> bool:
        grant = self._client_grant(request, code)
        if grant is None:
            revoke_replayed_code(code)
            return False
        if grant.is_expired():  # DOT's checks, from the row read once
            return False
        request.scopes = grant.scope.split(" ")
        request.user = grant.user
        if grant.nonce:
            request.nonce = grant.nonce
        if grant.claims:
            request.claims = json.loads(grant.claims)
        context = getattr(grant, "auth_context", None)
        if context is None or not request.user.is_active:
            return False
        _check_binding(context, request)  # a code bound by dpop_jkt (RFC 9449 §10)
        request.auth_context = context
        return True

    def get_code_challenge(self, code: str, request: Any) -> str | None:
        grant = self._client_grant(request, code)
        return (grant.code_challenge or None) if grant is not None else None

    def get_code_challenge_method(self, code: str, request: Any) -> str | None:
        grant = self._client_grant(request, code)
        return (grant.code_challenge_method or None) if grant is not None else None

    def confirm_redirect_uri(
        self, client_id: str, code: str, redirect_uri: str, client: Client, *a: Any, **k: Any
    ) -> bool:
        request = k.get("request") or a[0]
        grant = self._client_grant(request, code)
        return grant is not None and grant.redirect_uri_allowed(redirect_uri)

    def get_authorization_code_nonce(
        self, client_id: str, code: str, redirect_uri: str, request: Any
    ) -> str | None:
        grant = self._client_grant(request, code)
        return (grant.nonce or None) if grant is not None else None

    def invalidate_authorization_code(
        self, client_id: str, code: str, request: Any, *a: Any, **k: Any
    ) -> None:
        """The code was consumed in the transaction that stored its tokens
        (``save_bearer_token``); an exchange that did not get there stored nothing and must
        not succeed."""
        if not getattr(request, "code_consumed", False):
            raise InvalidGrantError(request=request)

    # --- tokens ------------------------------------------------------------------------------
    def _may_issue_refresh_token(self, request: Any) -> bool:
        if request.grant_type == GRANT_REFRESH_TOKEN:
            return True
        return (
            request.grant_type in (GRANT_AUTHORIZATION_CODE, GRANT_DEVICE_CODE)
            and GRANT_REFRESH_TOKEN in request.client.grant_types
            and "offline_access" in (request.scopes or [])
        )

    def _check_and_set_request_resource(self, request: Any) -> None:
        """DOT's RFC 8707 check, once per request: ``oauth.server`` runs it before the token is
        built, and DOT's save would run it again. For a code the resources are narrowed or
        inherited from the grant row read once (``_presented_grant``), where DOT reads it again."""
        if getattr(request, "resources_settled", False):
            return
        grant = None
        if request.grant_type == GRANT_AUTHORIZATION_CODE:
            grant = self._client_grant(request, request.code)
        if grant is None:
            super()._check_and_set_request_resource(request)
        else:
            self._settle_code_resources(request, grant.resource or [])
        request.resources_settled = True

    def _settle_code_resources(self, request: Any, granted: list[str]) -> None:
        """DOT's rule for a code (RFC 8707 §2.2): the requested resources, each valid, must be
        among those the code was granted for; none requested inherits the granted ones."""
        resource = getattr(request, "resource", None)
        if isinstance(resource, str):  # oauthlib keeps the last of repeated body parameters
            sent = [value for key, value in request.decoded_body or [] if key == "resource"]
            resource = sent if len(sent) > 1 else [resource] if resource.strip() else []
        request.resource = resource if isinstance(resource, list) else []
        self._validate_resource_uris(request, request.resource)
        beyond = [res for res in request.resource if granted and res not in granted]
        if beyond:
            raise CustomOAuth2Error(
                error="invalid_target",
                description=(
                    f"The requested resource '{beyond[0]}' is not allowed. Token request cannot "
                    "escalate resource permissions beyond the original authorization grant"
                ),
                request=request,
            )
        if granted and not request.resource:
            self._validate_resource_uris(request, granted)
            request.resource = granted

    def _validate_resource_uris(self, request: Any, resources: list[str]) -> None:
        """DOT's RFC 8707 check of each resource (an absolute URI), then ours: a registered
        API's audience that the client lists in its ``resources`` (``oauth.apis``). DOT calls
        this for requested and for inherited resources alike, so a code or refresh token whose
        API the client no longer lists yields no token for it either."""
        super()._validate_resource_uris(request, resources)
        client_resources = getattr(getattr(request, "client", None), "resources", None) or ()
        error = apis.target_error(resources, client_resources)
        if error is not None:
            raise CustomOAuth2Error(error="invalid_target", description=error, request=request)

    def validate_authorization_resources(self, request: Any) -> dict[str, Any]:
        """The same check at the authorization endpoint (an oauthlib ``post_auth`` validator,
        ``oauth.server``), once the redirect URI is trusted, so a refusal is an error redirect:
        the resources of the approval form (DOT's credentials), else every ``resource`` of the
        query (oauthlib keeps only the last)."""
        resources = getattr(request, "resource", None)
        if not isinstance(resources, list):
            query = urlsplit(request.uri).query
            resources = [v for k, v in parse_qsl(query, keep_blank_values=True) if k == "resource"]
        self._validate_resource_uris(request, resources)
        return {}

    def save_bearer_token(self, token: dict, request: Any, *args: Any, **kwargs: Any) -> None:
        """What the grant issued, stored in a few statements (``oauth.rotation``) of one
        transaction: a refresh consumes the presented token, a code exchange its code, each
        only if still current (else ``invalid_grant``, as a reuse or a replay), then the new
        tokens are stored and the sign-in context bound; client-credentials tokens are not
        stored (``oauth.clienttokens``) and get no refresh token; other grants (extensions)
        take DOT's save. Every issued token is audited."""
        if not self._may_issue_refresh_token(request):
            token.pop("refresh_token", None)
        if request.grant_type in _LEAN_GRANTS and getattr(request, "auth_context", None):
            if "scope" not in token:
                raise FatalClientError("Failed to renew access token: missing scope")
            self._check_and_set_request_resource(request)
            with transaction.atomic():  # the tokens and their audit event, or neither
                stored = self._store(token, request)
                if stored:
                    events.token_issued(token, request)
                else:
                    self._spent(request)
            if not stored:
                raise InvalidGrantError(request=request)
            return
        if request.grant_type != GRANT_CLIENT_CREDENTIALS:
            super().save_bearer_token(token, request, *args, **kwargs)
        events.token_issued(token, request)

    def _store(self, token: dict, request: Any) -> bool:
        """Consume what the request presented (refresh token, code, device code) and store what
        it was issued; False, with nothing written, when another request consumed it first
        (the token view reads and signs outside a transaction for refresh and code exchange:
        this is where two uses of one code or token meet)."""
        if request.grant_type == GRANT_REFRESH_TOKEN:
            return self._rotate(token, request)
        if request.grant_type == GRANT_AUTHORIZATION_CODE:
            grant = self._client_grant(request, request.code)
            if grant is None or not rotation.delete(get_grant_model(), grant.pk):
                return False
            request.code_consumed = True  # ``invalidate_authorization_code`` has nothing to do
        elif request.grant_type == GRANT_DEVICE_CODE and not device.consume(request):
            return False
        access, refresh = rotation.issue(
            request, token, id_token=getattr(request, "pending_id_token", None)
        )
        self._bind_context(access, refresh, request)
        return True

    def _spent(self, request: Any) -> None:
        """A code, device code or refresh token consumed by another request between this one's
        reads and its write (in the write transaction, after the other one committed): a second
        use. A code's tokens are revoked (RFC 6749 §4.1.2), a device code's too, a rotating
        refresh token's family too (reuse), as when the second use comes later. Two refreshes
        with a token that does not rotate (fapi2) are no reuse: the one that lost only gets
        ``invalid_grant``."""
        if request.grant_type == GRANT_AUTHORIZATION_CODE:
            revoke_replayed_code(request.code)
            return
        if request.grant_type == GRANT_DEVICE_CODE:
            revoke_replayed_code(device.context_key(request))
            return
        if not self.rotate_refresh_token(request):
            return
        refresh = request.refresh_token_instance
        get_refresh_token_model().revoke_family(refresh.token_family)
        metrics.REFRESH_TOKEN_REUSE.inc()
        events.refresh_token_reused(refresh, request)

    def rotate_refresh_token(self, request: Any) -> bool:
        """A fapi2 client keeps its refresh token (FAPI 2.0 Security Profile §5.3.2.1: no
        rotation, so that a lost answer cannot cost the client its grant); others rotate."""
        return not profiles.is_fapi2(request.client)

    def _rotate(self, token: dict, request: Any) -> bool:
        """Consume the presented refresh token (or, on a retry within the grace period, the
        live one rotated from it) and store the new pair in its family; a refresh token that
        does not rotate (``rotate_refresh_token``) gets the new access token instead. False
        when it was no longer current."""
        presented: rotation.Presented = request.rotated_refresh
        keep = token.get("refresh_token") == request.refresh_token
        owed = rotation.consume(presented, revoke=not keep)
        if owed is None:
            return False
        source = request.refresh_token_instance
        access, _ = rotation.issue(
            request,
            {name: value for name, value in token.items() if name != "refresh_token"}
            if keep
            else token,
            source=source,
            family=source.token_family,
            id_token=getattr(request, "pending_id_token", None),
            bump=owed,
        )
        if keep:
            rotation.reattach(source, access)
        return True

    def _bind_context(self, access: Any, refresh: Any, request: Any) -> None:
        """Tie the sign-in context to what this exchange issued (replay and refresh use it);
        a public client's refresh tokens are bound to what this exchange proved, the DPoP key
        (RFC 9449 §5) and the TLS client certificate its tokens are bound to (RFC 8705 §4): a
        confidential client's are bound to its authentication instead."""
        context: AuthContext = request.auth_context
        context.first_access_token_id = access.pk
        if refresh is not None:
            context.token_family = refresh.token_family
        if request.grant_type == GRANT_AUTHORIZATION_CODE:
            context.code_hash = request.code  # its digest (``digest_presented_code``)
        public = request.client.client_type == Client.CLIENT_PUBLIC
        context.cnf = tokens.confirmation(request) if public and refresh is not None else {}
        AuthContext.objects.filter(pk=context.pk).update(
            first_access_token_id=context.first_access_token_id,
            token_family=context.token_family,
            code_hash=context.code_hash,
            cnf=context.cnf,
        )

    def get_original_scopes(self, refresh_token: str, request: Any, *a: Any, **k: Any) -> str:
        presented = getattr(request, "rotated_refresh", None)
        if presented is None:
            return super().get_original_scopes(refresh_token, request, *a, **k)
        return presented.scope or ""

    def validate_refresh_token(
        self, refresh_token: str, client: Client, request: Any, *a: Any, **k: Any
    ) -> bool:
        """DOT's checks (idle lifetime, client, reuse protection) and ours (sign-in context,
        active user, second factor, absolute lifetime) on the row ``oauth.rotation`` read once
        (of concurrent uses of one refresh token only one consumes it: ``save_bearer_token``,
        where the others count as reuse). A rotated-out or revoked token revokes its family,
        unless it is the immediate predecessor of the live token within
        ``REFRESH_TOKEN_GRACE_PERIOD``: then the live one is rotated in its place (a client
        retrying a refresh whose answer it lost)."""
        presented = rotation.find(refresh_token)
        if presented is None:
            return False
        refresh = presented.refresh
        rotated = presented
        if refresh.revoked is not None:
            live = rotation.successor(refresh) if rotation.within_grace(refresh) else None
            if live is None:
                with transaction.atomic():  # the family revoked and its audit event, or neither
                    get_refresh_token_model().revoke_family(refresh.token_family)
                    events.refresh_token_reused(refresh, request)
                metrics.REFRESH_TOKEN_REUSE.inc()
                return False
            rotated = live
        if rotated.idle_expired or refresh.application_id != client.pk:
            return False
        context, user = rotated.context, refresh.user
        if context is None or not user.is_active:
            return False
        if extensions.second_factor().required(user, client=client) and not (
            context.acr == ACR_MFA
        ):
            return False  # MFA became required (user, role or client) after this sign-in
        absolute = timedelta(seconds=settings.REFRESH_TOKEN_ABSOLUTE_LIFETIME)
        if context.created_at + absolute <= timezone.now():
            return False
        _check_binding(context, request)  # a public client's refresh tokens (RFC 9449 §5, 8705 §4)
        request.user = user
        request.refresh_token = refresh_token
        request.refresh_token_instance = refresh  # its resources (RFC 8707) and family
        request.rotated_refresh = rotated
        request.auth_context = context
        return True

    def revoke_token(
        self, token: str, token_type_hint: str | None, request: Any, *a: Any, **k: Any
    ):
        events.token_revocation(token_type_hint, request)
        if clienttokens.revoke(token, request.client):
            return
        if any(revoke(token, request.client) for revoke in revokers):
            return
        super().revoke_token(token, token_type_hint, request, *a, **k)

    def validate_bearer_token(self, token: str, scopes: list[str], request: Any) -> bool:
        if not super().validate_bearer_token(token, scopes, request):
            return False
        return request.user is None or request.user.is_active

    # --- OpenID Connect ----------------------------------------------------------------------
    def validate_silent_login(self, request: Any) -> bool:
        """``prompt=none`` (DOT leaves this to us): the authorization view only validates for a
        signed-in user (its login check runs first), and it answers ``interaction_required``
        itself when the session lacks a second factor the request needs."""
        return True

    def validate_silent_authorization(self, request: Any) -> bool:
        """``prompt=none`` without a consent screen: only for clients that skip consent;
        others get ``consent_required`` rather than a page the user cannot see."""
        client = getattr(request, "client", None) or client_get(request.client_id)
        return bool(client is not None and client.skip_authorization)

    def get_additional_claims(self, request: Any) -> dict[str, Any]:
        user = request.user
        return {
            "name": user.name or user.get_full_name() or user.username,
            "preferred_username": user.username,
            "email": user.email,
            "email_verified": bool(user.email and user.email_verified),
            # Other apps' claims (``roles``), evaluated only when their scope was granted (DOT
            # calls callables lazily).
            **{name: _of_user(claim) for name, claim in extensions.user_claims.items()},
        }

    def get_id_token_dictionary(self, token: dict, token_handler: Any, request: Any):
        claims, expiration_time = super().get_id_token_dictionary(token, token_handler, request)
        expiration_time = timezone.now() + timedelta(seconds=settings.ID_TOKEN_LIFETIME)
        claims["exp"] = int(expiration_time.timestamp())
        context = getattr(request, "auth_context", None)
        if context is not None:
            claims["auth_time"] = int(context.auth_time.timestamp())
            claims["amr"] = list(context.amr)
            claims["acr"] = context.acr
            if context.sid:
                claims["sid"] = context.sid
        return claims, expiration_time

    def finalize_id_token(
        self, id_token: dict, token: dict, token_handler: Any, request: Any
    ) -> str:
        claims, expiration_time = self.get_id_token_dictionary(token, token_handler, request)
        id_token.update(claims)
        if "nonce" not in id_token and request.nonce:
            id_token["nonce"] = request.nonce
        signed = tokens.sign(
            id_token, algorithm=request.client.id_token_signed_response_alg, typ="JWT"
        )
        # DOT keeps a row per ID token (jti) to check ``id_token_hint`` at logout; for the
        # grants ``save_bearer_token`` stores itself it is written with the tokens.
        if request.grant_type in _LEAN_GRANTS:
            request.pending_id_token = get_id_token_model()(
                user=request.user,
                scope=request.scope or " ".join(request.scopes),
                expires=expiration_time,
                jti=id_token["jti"],
                application=request.client,
            )
        else:
            request.id_token = self._save_id_token(id_token["jti"], request, expiration_time)
        return signed

    def _get_key_for_token(self, token: str) -> jwk.JWKSet:
        """Our published signing keys, for DOT's checks of a token we signed (DOT would ask
        the audience client's ``jwk_key``)."""
        return keys.jwk_set()

    def _load_id_token(self, token: str):
        """Verify an ``id_token_hint`` against our published keys (expired ones allowed)."""
        try:
            header = jwt.get_unverified_header(token)
            key = keys.verification_key(str(header.get("kid", "")))
            if key is None:
                return None
            claims = jwt.decode(
                token,
                key.private_key.public_key(),
                algorithms=[key.algorithm],
                options={"verify_aud": False, "verify_exp": False},
            )
        except jwt.InvalidTokenError:
            return None
        return get_id_token_model().objects.filter(jti=claims.get("jti")).first()


def _of_user(claim: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A ``extensions.user_claims`` callable as DOT calls a lazy claim: with the request."""
    return lambda request: claim(request.user)
