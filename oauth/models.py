"""OAuth/OIDC state that django-oauth-toolkit does not model itself.

- ``Client`` swaps DOT's Application (``OAUTH2_PROVIDER_APPLICATION_MODEL``) to add a list of
  grant types, allowed scopes, per-client token lifetime, the authentication method and JWKS.
- ``SigningKey``: the rotating JWT signing keys, private halves encrypted at rest.
- ``AuthContext``: how and when the user authenticated, carried from the authorization request
  to the code exchange and on to every refresh of the token family.
- ``Api``: a registered resource server; its identifier is the audience (RFC 8707 resource)
  of the tokens issued for it (``oauth.apis``). ``Client.resources`` lists the APIs a client
  may obtain tokens for.
- ``AssertionJti``: ``jti`` values of client assertions (``private_key_jwt``) already used,
  kept until they expire, so a replay is refused by every worker process.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from urllib.parse import urlsplit

from cryptography import x509
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from oauth2_provider.models import AbstractApplication

from core import fetch
from core.proxy import is_loopback_host

GRANT_AUTHORIZATION_CODE = "authorization_code"
GRANT_CLIENT_CREDENTIALS = "client_credentials"
GRANT_REFRESH_TOKEN = "refresh_token"
GRANT_DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"
GRANT_TYPES = (
    GRANT_AUTHORIZATION_CODE,
    GRANT_CLIENT_CREDENTIALS,
    GRANT_REFRESH_TOKEN,
    GRANT_DEVICE_CODE,
)
# DOT's own grant constants, as passed to ``allows_grant_type``, mapped to ours.
_DOT_GRANTS = {
    AbstractApplication.GRANT_AUTHORIZATION_CODE: GRANT_AUTHORIZATION_CODE,
    AbstractApplication.GRANT_CLIENT_CREDENTIALS: GRANT_CLIENT_CREDENTIALS,
    AbstractApplication.GRANT_DEVICE_CODE: GRANT_DEVICE_CODE,
}

TLS_CLIENT_AUTH = "tls_client_auth"
SELF_SIGNED_TLS_CLIENT_AUTH = "self_signed_tls_client_auth"
MTLS_AUTH_METHODS = (TLS_CLIENT_AUTH, SELF_SIGNED_TLS_CLIENT_AUTH)  # RFC 8705 §2
AUTH_METHODS = (
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
    *MTLS_AUTH_METHODS,
    "none",
)
# RFC 8705 §2.1.2: what a tls_client_auth client's certificate must name (exactly one is set)
TLS_SUBJECT_FIELDS = (
    "tls_client_auth_subject_dn",
    "tls_client_auth_san_dns",
    "tls_client_auth_san_uri",
    "tls_client_auth_san_ip",
    "tls_client_auth_san_email",
)
TLS_CLIENT_FIELDS = (*TLS_SUBJECT_FIELDS, "tls_client_certificate_bound_access_tokens")
ID_TOKEN_ALGORITHMS = ("RS256", "ES256")
# Security profiles a client may be held to: FAPI 2.0 Security Profile (``oauth.profiles``).
PROFILE_FAPI2 = "fapi2"
PROFILES = (PROFILE_FAPI2,)
DNS_NAME = re.compile(r"(?=.{1,253}$)(\*\.)?([A-Za-z0-9-]{1,63}\.)*[A-Za-z0-9-]{1,63}")


def validate_redirect_uri(uri: str) -> None:
    """Exact https URIs, or http on a loopback IP literal (RFC 8252 §7.3); no fragments."""
    parts = urlsplit(uri)
    if parts.fragment or "#" in uri:
        raise ValidationError(f"{uri}: a redirect URI must not contain a fragment")
    if "*" in (parts.hostname or ""):
        raise ValidationError(f"{uri}: wildcards are not allowed in redirect URIs")
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and is_loopback_host(parts.hostname):
        return
    raise ValidationError(
        f"{uri}: redirect URIs must be https, or http on 127.0.0.1 / [::1] for native apps"
    )


class Client(AbstractApplication):
    """An OAuth client (DOT Application) with the settings our policy needs."""

    grant_types = models.JSONField(default=list, blank=True)
    allowed_scopes = models.JSONField(default=list, blank=True)
    access_token_lifetime = models.PositiveIntegerField(null=True, blank=True)
    token_endpoint_auth_method = models.CharField(
        max_length=32,
        choices=[(m, m) for m in AUTH_METHODS],
        default="client_secret_basic",
    )
    jwks = models.JSONField(null=True, blank=True)
    jwks_uri = models.URLField(blank=True, default="")
    id_token_signed_response_alg = models.CharField(
        max_length=8, choices=[(a, a) for a in ID_TOKEN_ALGORITHMS], default="RS256"
    )
    require_mfa = models.BooleanField(default=False)
    # Sign-in to this client stops at "verify your address" until the user's e-mail address
    # is confirmed (selfservice's verification link).
    require_verified_email = models.BooleanField(default=False)
    # RFC 9126 §6: authorization requests only through /o/par/
    require_pushed_authorization_requests = models.BooleanField(default=False)
    # "" or a security profile the client is held to (FAPI 2.0: ``oauth.profiles``)
    profile = models.CharField(
        max_length=16, blank=True, default="", choices=[(p, p) for p in PROFILES]
    )
    # RFC 9449 §5.2: its tokens are always DPoP-bound (a token request needs a proof)
    dpop_bound_access_tokens = models.BooleanField(default=False)
    # RFC 8705 §2.1.2: the certificate subject of a tls_client_auth client (one of them)
    tls_client_auth_subject_dn = models.CharField(max_length=500, blank=True, default="")
    tls_client_auth_san_dns = models.CharField(max_length=253, blank=True, default="")
    tls_client_auth_san_uri = models.CharField(max_length=500, blank=True, default="")
    tls_client_auth_san_ip = models.CharField(max_length=45, blank=True, default="")
    tls_client_auth_san_email = models.CharField(max_length=254, blank=True, default="")
    # RFC 8705 §3: its access tokens are bound to the client certificate of the token request
    tls_client_certificate_bound_access_tokens = models.BooleanField(default=False)
    # OpenID Connect Back-Channel Logout 1.0: where logout tokens are posted, and whether they
    # must carry the session (``sid``)
    backchannel_logout_uri = models.URLField(blank=True, default="")
    backchannel_logout_session_required = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    # Identifiers of the registered APIs (``Api.identifier``; ``management`` for the built-in
    # management API) this client may obtain tokens for (RFC 8707 ``resource``).
    resources = models.JSONField(default=list, blank=True)

    class Meta(AbstractApplication.Meta):
        swappable = "OAUTH2_PROVIDER_APPLICATION_MODEL"

    def allows_grant_type(self, *grant_types: str) -> bool:
        return any(_DOT_GRANTS.get(g, g) in self.grant_types for g in grant_types)

    def is_usable(self, request: object) -> bool:
        return self.is_active

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        for uri in self.redirect_uris.split():
            try:
                validate_redirect_uri(uri)
            except ValidationError as exc:
                errors.setdefault("redirect_uris", []).extend(exc.messages)
        unknown = [g for g in self.grant_types if g not in GRANT_TYPES]
        if unknown:
            errors["grant_types"] = [f"unsupported grant type(s): {', '.join(unknown)}"]
        if GRANT_AUTHORIZATION_CODE in self.grant_types and not self.redirect_uris.split():
            errors.setdefault("redirect_uris", []).append(
                "authorization_code needs at least one redirect URI"
            )
        is_public = self.client_type == self.CLIENT_PUBLIC
        if is_public and self.token_endpoint_auth_method != "none":
            errors["token_endpoint_auth_method"] = ["a public client authenticates with 'none'"]
        if not is_public and self.token_endpoint_auth_method == "none":
            errors["token_endpoint_auth_method"] = ["a confidential client must authenticate"]
        if is_public and GRANT_CLIENT_CREDENTIALS in self.grant_types:
            errors["grant_types"] = ["client_credentials needs a confidential client"]
        if self.token_endpoint_auth_method in (
            "private_key_jwt",
            SELF_SIGNED_TLS_CLIENT_AUTH,
        ) and not (self.jwks or self.jwks_uri):
            errors["jwks"] = [f"{self.token_endpoint_auth_method} needs jwks or jwks_uri"]
        _tls_subject_errors(self, errors)
        for field in ("jwks_uri", "backchannel_logout_uri"):
            url = getattr(self, field)
            try:
                if url:
                    fetch.check_url(url)
            except fetch.FetchError as exc:
                errors[field] = [f"{url}: not reachable by this server ({exc})"]
        if self.profile == PROFILE_FAPI2:
            _fapi2_errors(self, errors)
        if errors:
            raise ValidationError(errors)


def _tls_subject_errors(client: Client, errors: dict[str, list[str]]) -> None:
    """RFC 8705 §2.1.2: a ``tls_client_auth`` client names exactly one subject of its
    certificate, well formed; no other client names one."""
    named = [field for field in TLS_SUBJECT_FIELDS if getattr(client, field)]
    if client.token_endpoint_auth_method != TLS_CLIENT_AUTH:
        for field in named:
            errors.setdefault(field, []).append("only for tls_client_auth")
        return
    if len(named) != 1:
        errors.setdefault(named[1] if named else "tls_client_auth_subject_dn", []).append(
            "tls_client_auth needs exactly one of " + ", ".join(TLS_SUBJECT_FIELDS)
        )
        return
    field, value = named[0], getattr(client, named[0])
    try:
        if field == "tls_client_auth_subject_dn":
            x509.Name.from_rfc4514_string(value)
        elif field == "tls_client_auth_san_ip":
            ipaddress.ip_address(value)
        elif field == "tls_client_auth_san_uri" and not urlsplit(value).scheme:
            raise ValueError("an absolute URI")
        elif field == "tls_client_auth_san_email" and "@" not in value:
            raise ValueError("an e-mail address")
        elif field == "tls_client_auth_san_dns" and not DNS_NAME.fullmatch(value):
            raise ValueError("a DNS name")
    except ValueError as exc:
        errors.setdefault(field, []).append(f"{value!r} is not valid: {exc}")


def _fapi2_errors(client: Client, errors: dict[str, list[str]]) -> None:
    """FAPI 2.0 Security Profile §5.3.3 / §5.4: a confidential client authenticating with
    ``private_key_jwt`` or mutual TLS, ID tokens signed with ES256 (PS256 is not offered), the
    code flow (and client credentials) only."""
    rule = "the fapi2 profile needs"
    if client.token_endpoint_auth_method not in ("private_key_jwt", *MTLS_AUTH_METHODS):
        errors.setdefault("token_endpoint_auth_method", []).append(
            f"{rule} private_key_jwt, tls_client_auth or self_signed_tls_client_auth"
        )
    if client.id_token_signed_response_alg != "ES256":
        errors.setdefault("id_token_signed_response_alg", []).append(f"{rule} ES256")
    if GRANT_DEVICE_CODE in client.grant_types:
        errors.setdefault("grant_types", []).append(f"{rule} no device flow")


class SigningKey(models.Model):
    """A JWT signing key. Published in JWKS until every token it signed has expired."""

    kid = models.CharField(max_length=64, unique=True)
    algorithm = models.CharField(max_length=8, choices=[(a, a) for a in ID_TOKEN_ALGORITHMS])
    private_key = models.TextField(help_text="PEM, encrypted with core.crypto")
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["algorithm", "retired_at"])]

    def __str__(self) -> str:
        return f"{self.algorithm} {self.kid}"


class AuthContext(models.Model):
    """How the user authenticated, bound to an authorization code and then a token family."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    grant = models.OneToOneField(
        "oauth2_provider.Grant",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="auth_context",
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    client = models.ForeignKey(settings.OAUTH2_PROVIDER_APPLICATION_MODEL, on_delete=models.CASCADE)
    created_at = models.DateTimeField(auto_now_add=True)
    auth_time = models.DateTimeField()
    amr = models.JSONField(default=list)
    acr = models.CharField(max_length=16, default="1")
    sid = models.CharField(max_length=64, blank=True, default="")
    # Filled at the code exchange: the code (hashed) for replay detection, and the tokens.
    code_hash = models.CharField(max_length=64, null=True, blank=True, unique=True)
    token_family = models.UUIDField(null=True, blank=True, unique=True)
    first_access_token = models.ForeignKey(
        "oauth2_provider.AccessToken",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # The sender constraint (RFC 7800 ``cnf``: ``jkt`` of a DPoP key, ``x5t#S256`` of a TLS
    # client certificate) the code is bound to (``dpop_jkt``, RFC 9449 §10) and, after the
    # exchange, a public client's refresh tokens (RFC 9449 §5, RFC 8705 §4): a refresh must
    # prove the same. Empty: not bound.
    cnf = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"auth context {self.id}"


class RevokedToken(models.Model):
    """A revoked client-credentials access token, kept until it would have expired.

    Client-credentials tokens are not stored (``oauth.clienttokens``): their signature proves
    issuance, so revoking one means remembering its ``jti`` until its ``exp``.
    """

    jti = models.CharField(max_length=64, primary_key=True)
    client_id = models.CharField(max_length=100)
    expires = models.DateTimeField(db_index=True)
    revoked_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"revoked {self.jti} ({self.client_id})"


class Api(models.Model):
    """A registered resource server: tokens requested for it carry its audience as ``aud``.

    ``identifier`` is an absolute URI (the RFC 8707 resource), or ``management`` for the
    built-in management API, whose audience is ``<ISSUER_URL>/api/v1/`` (``oauth.apis``).
    ``client`` is the client whose credentials the API presents at introspection and AuthZEN.
    """

    identifier = models.CharField(max_length=255, unique=True)
    name = models.CharField(max_length=100)
    client = models.ForeignKey(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="apis",
    )
    scopes = models.JSONField(default=list, blank=True)
    access_token_lifetime = models.PositiveIntegerField(null=True, blank=True)
    builtin = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.identifier})"


class AssertionJti(models.Model):
    """A used client-assertion ``jti`` (RFC 7523 §3), kept until the assertion expires."""

    client_id = models.CharField(max_length=100)
    jti = models.CharField(max_length=255)
    expires = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client_id", "jti"], name="assertion_jti_once")
        ]

    def __str__(self) -> str:
        return f"assertion {self.jti} ({self.client_id})"


class LogoutNotice(models.Model):
    """A back-channel logout token owed to a client: the sign-in session ``sid`` of ``sub``
    ended here. Delivered by a Celery task (``oauth.backchannel``) with retries; the row
    records the outcome for the console."""

    client = models.ForeignKey(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    sub = models.CharField(max_length=255)
    sid = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    delivered_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["client", "created_at"])]
