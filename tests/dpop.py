"""A DPoP key holder as a client library is one (RFC 9449 §4.2): a key pair whose proofs name
the request (``htm``, ``htu``), carry a fresh ``jti`` and, at a resource, the token's ``ath``."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from oauth.dpop import thumbprint


class Holder:
    def __init__(self) -> None:
        self.private = ec.generate_private_key(ec.SECP256R1())
        self.jwk = ECAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        self.jkt = thumbprint(self.jwk)

    def proof(self, method: str, url: str, *, token: str | None = None, **overrides: Any) -> str:
        claims: dict[str, Any] = {
            "jti": secrets.token_urlsafe(12),
            "htm": method,
            "htu": url,
            "iat": int(time.time()),
        }
        if token is not None:
            digest = hashlib.sha256(token.encode()).digest()
            claims["ath"] = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        header = {"typ": "dpop+jwt", "jwk": overrides.pop("jwk", self.jwk)}
        header.update(overrides.pop("header", {}))
        claims.update(overrides)
        return jwt.encode(claims, self.private, algorithm="ES256", headers=header)
