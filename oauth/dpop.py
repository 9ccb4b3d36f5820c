"""DPoP (RFC 9449): access tokens bound to a key the client holds.

At the token endpoint a ``DPoP`` header carries a proof: a JWT of ``typ: dpop+jwt`` signed by
the client's key, whose public half (``jwk``) is in its header, naming the request (``htm``,
``htu``), fresh (``iat`` within ``IAT_WINDOW_SECONDS``) and used once (``jti``, remembered in
the shared cache by every worker). The access token then carries ``cnf.jkt`` (the key's RFC 7638
thumbprint) and ``token_type`` is ``DPoP``. At our resource doors (``oauth.binding``) a bound
token is accepted only as ``Authorization: DPoP <token>`` with a proof of the same key whose
``ath`` is the token's hash; presented as a bearer token it is refused.
Introspection reports ``cnf`` so that resource servers check the proof themselves (§6.2).
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any
from urllib.parse import urlsplit

import jwt
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from jwcrypto.jwk import JWK

from core import clock
from core.crypto import keyed_hash
from core.responses import oauth_error
from oauth import profiles
from oauth.models import Client

ALGORITHMS = ["ES256", "RS256", "PS256"]
IAT_WINDOW_SECONDS = 60  # a proof older than this is refused (RFC 9449 §11.1)
FUTURE_SECONDS = 5  # clock skew allowed the other way
JTI_MAX_LENGTH = 255
NONCE_SECONDS = 300
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
JKT = re.compile(r"[A-Za-z0-9_-]{43}")  # an RFC 7638 SHA-256 thumbprint, base64url (dpop_jkt)
CHALLENGE = f'DPoP algs="{" ".join(ALGORITHMS)}"'  # WWW-Authenticate of a refused DPoP use


class ProofError(Exception):
    """The DPoP proof is missing, malformed, stale, replayed or for another request or key."""


class NonceRequired(ProofError):
    """The token endpoint asks for its current nonce in the proof (RFC 9449 §8)."""


def current_nonce(offset: int = 0) -> str:
    """The token endpoint's DPoP nonce (``DPOP_NONCE``): a keyed hash of the current
    ``NONCE_SECONDS`` window, the same in every worker with nothing stored; the previous
    window's is still accepted."""
    window = int(clock.now() // NONCE_SECONDS) - offset
    return keyed_hash(str(window), "dpop-nonce")[:32]


def _b64_sha256(value: str) -> str:
    digest = hashlib.sha256(value.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 SHA-256 thumbprint of a public JWK, base64url."""
    return JWK(**jwk).thumbprint()


def _same_url(htu: Any, url: str) -> bool:
    """RFC 9449 §4.3: ``htu`` without query and fragment, scheme and host case-insensitive; a
    ``url`` that is a path alone matches any origin."""
    if not isinstance(htu, str):
        return False
    a, b = urlsplit(htu), urlsplit(url)
    if not b.netloc:
        return a.path == b.path
    return (a.scheme.lower(), a.netloc.lower(), a.path) == (
        b.scheme.lower(),
        b.netloc.lower(),
        b.path,
    )


def verify(
    proof: str,
    *,
    method: str,
    url: str,
    access_token: str | None = None,
    algorithms: list[str] = ALGORITHMS,
    nonce: bool = False,
) -> str:
    """The thumbprint of the key that made ``proof`` for ``method`` ``url`` (and, at a resource,
    for ``access_token``) with one of ``algorithms`` (and, with ``nonce``, the current server
    nonce: else ``NonceRequired``); ``ProofError`` otherwise. A proof is accepted once."""
    try:
        header = jwt.get_unverified_header(proof)
        jwk, algorithm = header.get("jwk"), header.get("alg")
        if header.get("typ") != "dpop+jwt" or algorithm not in algorithms:
            raise ProofError(f"a DPoP proof is a dpop+jwt signed with {', '.join(algorithms)}")
        if not isinstance(jwk, dict) or PRIVATE_MEMBERS & jwk.keys():
            raise ProofError("the proof's jwk must be a public key")
        key = jwt.PyJWK(jwk, algorithm=algorithm)
        claims = jwt.decode(
            proof,
            key.key,
            algorithms=[algorithm],
            options={"require": ["iat", "jti", "htm", "htu"], "verify_aud": False},
        )
    except ProofError:
        raise
    except (jwt.PyJWTError, ValueError, TypeError, KeyError) as exc:
        raise ProofError(f"the DPoP proof does not verify: {exc}") from None
    if claims["htm"] != method or not _same_url(claims["htu"], url):
        raise ProofError("the DPoP proof is for another request (htm, htu)")
    now = clock.now()
    if not now - IAT_WINDOW_SECONDS <= float(claims["iat"]) <= now + FUTURE_SECONDS:
        raise ProofError("the DPoP proof is not fresh (iat)")
    if nonce and claims.get("nonce") not in (current_nonce(), current_nonce(1)):
        raise NonceRequired("the DPoP proof needs the server's nonce (DPoP-Nonce)")
    if access_token is not None and claims.get("ath") != _b64_sha256(access_token):
        raise ProofError("the DPoP proof is not for this access token (ath)")
    jti = claims["jti"]
    if not isinstance(jti, str) or not 0 < len(jti) <= JTI_MAX_LENGTH:
        raise ProofError("the DPoP proof needs a jti")
    jkt = thumbprint(jwk)
    seen = f"oauth:dpop:{_b64_sha256(jkt + ':' + jti)}"
    if not cache.add(seen, 1, timeout=IAT_WINDOW_SECONDS + FUTURE_SECONDS + 5):
        raise ProofError("the DPoP proof was used before (jti)")
    return jkt


def endpoint_url(request: HttpRequest) -> str:
    """The URL the client addressed: the issuer's origin and the request's path."""
    origin = urlsplit(settings.ISSUER_URL)
    return f"{origin.scheme}://{origin.netloc}{request.path}"


def endpoint_proof(request: HttpRequest, client: Client | None) -> str | None:
    """The key thumbprint of the DPoP proof sent to one of our POST endpoints (token, PAR),
    in the algorithms ``client`` may use; None without a proof. ``ProofError`` (or
    ``NonceRequired``) for a proof that does not verify."""
    proof = request.META.get("HTTP_DPOP")
    if proof is None:
        return None
    return verify(
        proof,
        method="POST",
        url=endpoint_url(request),
        algorithms=profiles.signing_algorithms(client, ALGORITHMS),
        nonce=settings.DPOP_NONCE,
    )


def refusal(error: ProofError) -> HttpResponse:
    """An endpoint's RFC 9449 §7.1/§8 answer to a refused proof."""
    if isinstance(error, NonceRequired):
        return oauth_error("use_dpop_nonce", str(error), **{"DPoP-Nonce": current_nonce()})
    return oauth_error("invalid_dpop_proof", str(error))
