"""The relying-party side of an upstream provider: its endpoints, the authorization request,
the code exchange and the validation of what comes back (PyJWT for the JWS, ``core.fetch``
for every request to the upstream).

- ``oidc`` and its presets (``gitlab``, ``google``, ``microsoft``): the endpoints come from the
  upstream's discovery document (OIDC Discovery 1.0), whose ``issuer`` must be the configured
  one; the ID token is validated per OIDC Core §3.1.3.7: signature by a key of the upstream's
  ``jwks_uri`` with an asymmetric algorithm it advertises (never ``none`` or HMAC), ``iss``,
  ``aud`` containing our client_id (``azp`` ours when present or when there are several
  audiences), ``exp``/``iat`` with a minute's leeway, and the ``nonce`` we sent. A ``kid``
  missing from the cached key set re-reads the discovery document and the key set once (the
  upstream rotated its keys), within ``core.fetch``'s refetch limit.
- ``github`` (plain OAuth 2, no ID token): the user and e-mail APIs say who signed in; its
  ``sub`` is GitHub's numeric user id, its e-mail the primary verified one. ``issuer`` empty
  means github.com; set, it is a GitHub Enterprise Server base URL.
- Claims from the UserInfo endpoint are merged under the ID token's (its ``sub`` must match).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import jwt
from django.conf import settings

from core import clock, fetch
from federation.models import IdentityProvider
from oauth import tokens

DISCOVERY_PATH = "/.well-known/openid-configuration"
ID_TOKEN_LEEWAY = 60
# Asymmetric JWS algorithms only: ``none`` and HMAC (keyed with the client secret) are refused.
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
MAX_DOCUMENT_BYTES = 256 * 1024

PRESET_ISSUERS = {
    IdentityProvider.Kind.GOOGLE: "https://accounts.google.com",
    IdentityProvider.Kind.GITLAB: "https://gitlab.com",
}
DEFAULT_SCOPES = {
    IdentityProvider.Kind.GITHUB: ["read:user", "user:email"],
}
OIDC_SCOPES = ["openid", "email", "profile"]


class UpstreamError(Exception):
    """The upstream could not be used or what it sent is refused; the message is for logs and
    the audit log, not for the browser."""


@dataclass(frozen=True)
class Endpoints:
    issuer: str
    authorization: str
    token: str
    userinfo: str = ""
    jwks_uri: str = ""
    end_session: str = ""
    algorithms: tuple[str, ...] = ALGORITHMS


@dataclass(frozen=True)
class Identity:
    """Who the upstream says signed in: its ``sub`` and every claim (ID token over UserInfo)."""

    subject: str
    claims: dict[str, Any]
    id_token: str = ""

    @property
    def email(self) -> str:
        value = self.claims.get("email")
        return value if isinstance(value, str) else ""

    @property
    def email_verified(self) -> bool:
        return self.claims.get("email_verified") is True


def issuer_of(provider: IdentityProvider) -> str:
    return (provider.issuer or PRESET_ISSUERS.get(provider.kind, "")).rstrip("/")


def scopes_of(provider: IdentityProvider) -> list[str]:
    if provider.scopes:
        return list(provider.scopes)
    return list(DEFAULT_SCOPES.get(provider.kind, OIDC_SCOPES))


def is_oidc(provider: IdentityProvider) -> bool:
    return provider.kind != IdentityProvider.Kind.GITHUB


def _github(provider: IdentityProvider) -> Endpoints:
    base = provider.issuer.rstrip("/")
    if not base:
        return Endpoints(
            issuer="https://github.com",
            authorization="https://github.com/login/oauth/authorize",
            token="https://github.com/login/oauth/access_token",
            userinfo="https://api.github.com/user",
        )
    return Endpoints(
        issuer=base,
        authorization=f"{base}/login/oauth/authorize",
        token=f"{base}/login/oauth/access_token",
        userinfo=f"{base}/api/v3/user",
    )


def _json(url: str, *, refresh: bool = False) -> dict[str, Any]:
    try:
        document = fetch.fetch_json(url, max_bytes=MAX_DOCUMENT_BYTES, refresh=refresh)
    except fetch.FetchError as exc:
        raise UpstreamError(f"{url}: {exc}") from exc
    if not isinstance(document, dict):
        raise UpstreamError(f"{url}: not a JSON object")
    return document


def endpoints(provider: IdentityProvider, *, refresh: bool = False) -> Endpoints:
    """The provider's endpoints (discovery, cached per ``core.fetch``; ``refresh`` re-reads)."""
    if not is_oidc(provider):
        return _github(provider)
    issuer = issuer_of(provider)
    if not issuer:
        raise UpstreamError(f"{provider.slug}: no issuer")
    document = _json(issuer + DISCOVERY_PATH, refresh=refresh)
    if str(document.get("issuer", "")).rstrip("/") != issuer:
        raise UpstreamError(f"discovery names issuer {document.get('issuer')!r}, not {issuer!r}")
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(document.get(name), str):
            raise UpstreamError(f"discovery lacks {name}")
    advertised = document.get("id_token_signing_alg_values_supported") or ["RS256"]
    algorithms = tuple(a for a in advertised if a in ALGORITHMS)
    if not algorithms:
        raise UpstreamError("the upstream signs ID tokens with no algorithm we accept")
    return Endpoints(
        issuer=str(document["issuer"]),
        authorization=document["authorization_endpoint"],
        token=document["token_endpoint"],
        userinfo=str(document.get("userinfo_endpoint") or ""),
        jwks_uri=document["jwks_uri"],
        end_session=str(document.get("end_session_endpoint") or ""),
        algorithms=algorithms,
    )


# --- the authorization request ---------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """What one authorization request sent, kept in the session until the callback."""

    state: str
    nonce: str
    verifier: str

    @classmethod
    def new(cls) -> Request:
        return cls(secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(48))


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorization_url(
    provider: IdentityProvider, request: Request, redirect_uri: str, **extra: str
) -> str:
    """The upstream's authorization URL: code flow, PKCE S256, ``state`` and ``nonce``."""
    params = {
        "response_type": "code",
        "client_id": provider.client_id,
        "redirect_uri": redirect_uri,
        "scope": " ".join(scopes_of(provider)),
        "state": request.state,
        "code_challenge": _challenge(request.verifier),
        "code_challenge_method": "S256",
        **extra,
    }
    if is_oidc(provider):
        params["nonce"] = request.nonce
    url = endpoints(provider).authorization
    return f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"


def states_match(expected: str, given: str) -> bool:
    return bool(expected) and hmac.compare_digest(expected.encode(), given.encode())


# --- the code exchange ------------------------------------------------------------------------


def _client_assertion(provider: IdentityProvider, audience: str) -> str:
    """RFC 7523 client authentication signed with this server's own signing key (the upstream
    registers our ``jwks_uri``)."""
    now = int(clock.now())
    claims = {
        "iss": provider.client_id,
        "sub": provider.client_id,
        "aud": audience,
        "jti": str(uuid.uuid4()),
        "iat": now,
        "exp": now + 60,
    }
    return tokens.sign(claims, algorithm=settings.ACCESS_TOKEN_ALGORITHM, typ="JWT")


def _authenticated(
    provider: IdentityProvider, form: dict[str, str], token_endpoint: str
) -> tuple[dict[str, str], dict[str, str]]:
    """The token request's form and headers with the client's authentication."""
    method = provider.token_endpoint_auth_method
    headers: dict[str, str] = {}
    if method == IdentityProvider.AuthMethod.PRIVATE_KEY_JWT:
        form = {
            **form,
            "client_id": provider.client_id,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": _client_assertion(provider, token_endpoint),
        }
    elif method == IdentityProvider.AuthMethod.POST:
        form = {**form, "client_id": provider.client_id, "client_secret": provider.client_secret}
    else:  # RFC 6749 §2.3.1: each part form-encoded, then Basic
        pair = f"{quote(provider.client_id, safe='')}:{quote(provider.client_secret, safe='')}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    return form, headers


def _fetch_json(url: str, **kwargs: Any) -> Any:
    try:
        fetched = fetch.fetch(url, max_bytes=MAX_DOCUMENT_BYTES, **kwargs)
        return json.loads(fetched.body)
    except fetch.FetchError as exc:
        raise UpstreamError(f"{url}: {exc}") from exc
    except ValueError as exc:
        raise UpstreamError(f"{url}: the body is not JSON") from exc


def exchange(
    provider: IdentityProvider, request: Request, code: str, redirect_uri: str
) -> dict[str, Any]:
    """Trade the code for the upstream's tokens (the token response)."""
    token_endpoint = endpoints(provider).token
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": request.verifier,
    }
    form, headers = _authenticated(provider, form, token_endpoint)
    answer = _fetch_json(token_endpoint, form=form, headers=headers)
    if not isinstance(answer, dict) or not isinstance(answer.get("access_token"), str):
        raise UpstreamError("the token response has no access_token")
    return answer


def _signing_key(provider: IdentityProvider, token: str) -> tuple[Any, str, Endpoints]:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise UpstreamError(f"the ID token is not a JWS: {exc}") from exc
    place = endpoints(provider)
    algorithm = header.get("alg")
    if algorithm not in place.algorithms:
        raise UpstreamError(f"ID token algorithm {algorithm!r} refused")
    kid = header.get("kid")
    for refresh in (False, True):
        if refresh:  # an unknown kid: the upstream may have rotated; read both documents again
            place = endpoints(provider, refresh=True)
        keys = _json(place.jwks_uri, refresh=refresh).get("keys")
        candidates = [
            k
            for k in (keys if isinstance(keys, list) else [])
            if isinstance(k, dict)
            and (kid is None or k.get("kid") == kid)
            and k.get("use", "sig") == "sig"
        ]
        for candidate in candidates:
            try:
                return jwt.PyJWK(candidate, algorithm=algorithm), algorithm, place
            except jwt.PyJWTError:
                continue
    raise UpstreamError(f"no key of the upstream's key set verifies kid {kid!r}")


def validate_id_token(provider: IdentityProvider, token: str, nonce: str) -> dict[str, Any]:
    """The ID token's claims once every OIDC Core §3.1.3.7 check passed; ``UpstreamError``
    naming the first that failed."""
    key, algorithm, place = _signing_key(provider, token)
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            audience=provider.client_id,
            issuer=place.issuer,
            options={
                "require": ["iss", "sub", "aud", "exp", "iat"],
                "verify_exp": False,  # checked below against this module's clock
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
    except jwt.PyJWTError as exc:
        raise UpstreamError(f"ID token refused: {exc}") from exc
    now = clock.now()
    if not isinstance(claims["exp"], int | float) or claims["exp"] <= now - ID_TOKEN_LEEWAY:
        raise UpstreamError("ID token expired")
    if not isinstance(claims["iat"], int | float) or claims["iat"] > now + ID_TOKEN_LEEWAY:
        raise UpstreamError("ID token issued in the future")
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    azp = claims.get("azp")
    if (len(audiences) > 1 or azp is not None) and azp != provider.client_id:
        raise UpstreamError(f"ID token azp {azp!r} is not our client_id")
    if not states_match(nonce, str(claims.get("nonce", ""))):
        raise UpstreamError("ID token nonce does not match")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise UpstreamError("ID token without sub")
    return claims


def _bearer(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}


def _github_identity(place: Endpoints, access_token: str) -> Identity:
    user = _fetch_json(place.userinfo, headers=_bearer(access_token))
    if not isinstance(user, dict) or not isinstance(user.get("id"), int):
        raise UpstreamError("the GitHub user API answered without an id")
    emails = _fetch_json(place.userinfo + "/emails", headers=_bearer(access_token))
    primary = next(
        (
            e
            for e in (emails if isinstance(emails, list) else [])
            if isinstance(e, dict) and e.get("primary") and e.get("verified")
        ),
        None,
    )
    claims: dict[str, Any] = {
        "sub": str(user["id"]),
        "preferred_username": user.get("login") or "",
        "name": user.get("name") or "",
    }
    if primary is not None and isinstance(primary.get("email"), str):
        claims.update(email=primary["email"], email_verified=True)
    return Identity(claims["sub"], claims)


def identity(provider: IdentityProvider, tokens: dict[str, Any], nonce: str) -> Identity:
    """Who signed in, from the token response."""
    place = endpoints(provider)
    if not is_oidc(provider):
        return _github_identity(place, tokens["access_token"])
    id_token = tokens.get("id_token")
    if not isinstance(id_token, str):
        raise UpstreamError("the token response has no id_token")
    claims = validate_id_token(provider, id_token, nonce)
    if place.userinfo:
        info = _fetch_json(place.userinfo, headers=_bearer(tokens["access_token"]))
        if not isinstance(info, dict) or info.get("sub") != claims["sub"]:
            raise UpstreamError("UserInfo names another sub than the ID token")
        claims = {**info, **claims}
    return Identity(claims["sub"], claims, id_token)


def end_session_origin(provider: IdentityProvider) -> str:
    """The origin of the upstream's ``end_session_endpoint`` ("" without one)."""
    if not is_oidc(provider):
        return ""
    try:
        end_session = endpoints(provider).end_session
    except UpstreamError:
        return ""
    parts = urlsplit(end_session)
    return f"{parts.scheme}://{parts.netloc}" if end_session else ""


def logout_url(provider: IdentityProvider, id_token: str, post_logout_redirect_uri: str) -> str:
    """RP-initiated logout at the upstream (OIDC RP-Initiated Logout 1.0), or "" when it
    advertises no ``end_session_endpoint``."""
    if not is_oidc(provider):
        return ""
    try:
        place = endpoints(provider)
    except UpstreamError:
        return ""
    if not place.end_session:
        return ""
    params = {"client_id": provider.client_id, "post_logout_redirect_uri": post_logout_redirect_uri}
    if id_token:
        params["id_token_hint"] = id_token
    sep = "&" if "?" in place.end_session else "?"
    return f"{place.end_session}{sep}{urlencode(params)}"
