"""Keyed hashing and encryption at rest, keyed from settings so keys can rotate.

- ``keyed_hash``: HMAC-SHA256 with a server-side pepper, for high-entropy generated secrets
  (client secrets, API keys, recovery codes). A 256-bit random secret cannot be brute-forced,
  so a slow password hash buys nothing there and would cost ~50 ms of CPU per request.
- ``encrypt``/``decrypt``: Fernet (AES-128-CBC + HMAC) via MultiFernet, so data encrypted under
  ``SECRET_KEY_FALLBACKS`` still decrypts after a key rotation.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings
from django.core.signals import setting_changed


def _derive(secret: str, purpose: str) -> bytes:
    return hashlib.sha256(f"authserver:{purpose}:{secret}".encode()).digest()


@functools.cache
def _pepper() -> hmac.HMAC:
    """HMAC-SHA256 keyed with the pepper, before any message: copied for each hash (copying
    skips the key setup and the digest lookup)."""
    return hmac.new(
        _derive(settings.SECRET_PEPPER or settings.SECRET_KEY, "pepper"), digestmod=hashlib.sha256
    )


@functools.cache
def _fernet() -> MultiFernet:
    secrets_in_order = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    return MultiFernet(
        [Fernet(base64.urlsafe_b64encode(_derive(s, "fernet"))) for s in secrets_in_order]
    )


def _clear_caches(**kwargs: object) -> None:
    _pepper.cache_clear()
    _fernet.cache_clear()


setting_changed.connect(_clear_caches, dispatch_uid="core.crypto.clear")


def keyed_hash(value: str, purpose: str) -> str:
    """HMAC-SHA256 of ``value`` under the pepper, namespaced by ``purpose`` (hex)."""
    mac = _pepper().copy()
    mac.update(f"{purpose}:{value}".encode())
    return mac.hexdigest()


def encrypt(data: bytes) -> str:
    return _fernet().encrypt(data).decode()


def decrypt(token: str) -> bytes:
    return _fernet().decrypt(token.encode())


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()
