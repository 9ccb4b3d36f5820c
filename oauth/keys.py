"""JWT signing keys: generated on first use, encrypted at rest, rotated, published as JWKS.

The newest un-retired key of an algorithm signs. A retired key stays in JWKS for
``key_retention_seconds()`` after it was retired, so every token it signed can still be verified
until it expires. Keys are cached per process for ``KEY_CACHE_SECONDS``; a token naming an unknown
``kid`` reloads them, but at most once per ``RELOAD_MIN_SECONDS`` (made-up ``kid``s cost nothing).
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from jwcrypto import jwk

from core import clock
from core.crypto import decrypt, encrypt
from oauth.models import SigningKey
from oauth.selectors import longest_access_token_lifetime

KEY_CACHE_SECONDS = 30
RELOAD_MIN_SECONDS = 5.0
ALGORITHMS = ("RS256", "ES256")


@dataclass(frozen=True)
class LoadedKey:
    kid: str
    algorithm: str
    private_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    public_jwk: dict
    retired: bool


class _KeyRing:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded_at = 0.0
        self._keys: list[LoadedKey] = []

    def _stale(self, force: bool) -> bool:
        age = clock.monotonic() - self._loaded_at
        return not self._keys or age > KEY_CACHE_SECONDS or (force and age > RELOAD_MIN_SECONDS)

    def keys(self, *, force: bool = False) -> list[LoadedKey]:
        """The published keys; ``force`` (a ``kid`` not found) reloads them unless they were
        loaded less than ``RELOAD_MIN_SECONDS`` ago."""
        if self._stale(force):
            with self._lock:
                if self._stale(force):  # not reloaded meanwhile by a thread that held the lock
                    self._keys = _load_published({(k.kid, k.retired): k for k in self._keys})
                    self._loaded_at = clock.monotonic()
        return self._keys

    def clear(self) -> None:
        with self._lock:
            self._keys = []
            self._loaded_at = 0.0


_ring = _KeyRing()


def key_retention_seconds() -> int:
    """How long a retired key must stay published: the longest token lifetime in force."""
    return max(longest_access_token_lifetime(), settings.ID_TOKEN_LIFETIME) + 60


def new_private_key(algorithm: str) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    """A fresh private key for ``algorithm`` (a seam: the tests draw from a pool made once)."""
    if algorithm == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def _generate(algorithm: str) -> SigningKey:
    private = new_private_key(algorithm)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    kid = public_jwk_thumbprint(_public_jwk(private))
    return SigningKey.objects.create(kid=kid, algorithm=algorithm, private_key=encrypt(pem))


def _public_jwk(private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> dict:
    return jwk.JWK.from_pyca(private.public_key()).export_public(as_dict=True)


@lru_cache(maxsize=16)  # the keys a ring holds: no long tail of removed keys
def _parse(pem: bytes) -> tuple[rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, str]:
    """The private key of ``pem`` and its public JWK (as JSON: the cached value is never
    changed), parsed once per process: parsing an RSA key checks it, some 17 ms."""
    private = serialization.load_pem_private_key(pem, password=None)
    return private, json.dumps(_public_jwk(private))


def public_jwk_thumbprint(public_jwk: dict) -> str:
    """RFC 7638 JWK thumbprint (SHA-256, base64url), used as ``kid``."""
    required = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y")}[public_jwk["kty"]]
    canonical = json.dumps({k: public_jwk[k] for k in required}, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _load_published(parsed: dict[tuple[str, bool], LoadedKey] | None = None) -> list[LoadedKey]:
    """The published keys, newest first. ``parsed`` holds keys loaded before, by (kid, retired):
    they are reused, since decrypting and parsing a key (RSA above all) takes many ms and a
    ``kid`` is the thumbprint of its key."""
    parsed = parsed or {}
    cutoff = timezone.now() - timedelta(seconds=key_retention_seconds())
    rows = list(
        SigningKey.objects.filter(retired_at__isnull=True)
        | SigningKey.objects.filter(retired_at__gt=cutoff)
    )
    present = {row.algorithm for row in rows if row.retired_at is None}
    missing = [alg for alg in ALGORITHMS if alg not in present]
    if missing:
        with transaction.atomic():
            rows.extend(_generate(alg) for alg in missing)
    rows.sort(key=lambda row: row.created_at, reverse=True)
    loaded = []
    for row in rows:
        known = parsed.get((row.kid, row.retired_at is not None))
        if known is not None:
            loaded.append(known)
            continue
        private, public_json = _parse(decrypt(row.private_key))
        public_jwk = json.loads(public_json)
        public_jwk.update(kid=row.kid, alg=row.algorithm, use="sig")
        loaded.append(
            LoadedKey(
                kid=row.kid,
                algorithm=row.algorithm,
                private_key=private,
                public_jwk=public_jwk,
                retired=row.retired_at is not None,
            )
        )
    return loaded


def signing_key(algorithm: str) -> LoadedKey:
    """The key that signs new tokens with ``algorithm`` (the newest active one)."""
    for key in _ring.keys():
        if key.algorithm == algorithm and not key.retired:
            return key
    for key in _ring.keys(force=True):
        if key.algorithm == algorithm and not key.retired:
            return key
    raise LookupError(f"no active {algorithm} signing key")


def verification_key(kid: str) -> LoadedKey | None:
    for force in (False, True):
        for key in _ring.keys(force=force):
            if key.kid == kid:
                return key
    return None


def is_published(kid: str) -> bool:
    """Whether ``kid`` is among the keys as last loaded (no reload: for cached verifications)."""
    return any(key.kid == kid for key in _ring.keys())


def jwks() -> dict:
    return {"keys": [key.public_jwk for key in _ring.keys()]}


def jwk_set() -> jwk.JWKSet:
    return jwk.JWKSet.from_json(json.dumps(jwks()))


def rotate() -> list[SigningKey]:
    """Retire every active key and create a new one per algorithm."""
    with transaction.atomic():
        SigningKey.objects.filter(retired_at__isnull=True).update(retired_at=timezone.now())
        created = [_generate(alg) for alg in ALGORITHMS]
    _ring.clear()
    return created


def clear_cache() -> None:
    _ring.clear()
