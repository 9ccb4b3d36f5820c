"""The API key format, pure: ``ask_<key id>_<secret>``.

- ``ask_``: a fixed prefix that secret scanners (GitHub, gitleaks) can be taught to find;
- the key id: 16 lowercase hex characters, public (listings, logs, the revoke command), used to
  find the row;
- the secret: 256 random bits, base64url (43 characters). Only ``keyed_hash(secret, "api-key")``
  is stored; a leaked database row cannot be turned back into a usable key.
"""

from __future__ import annotations

import re
import secrets
from typing import NamedTuple

from core.crypto import keyed_hash

PREFIX = "ask_"
HASH_PURPOSE = "api-key"
KEY_ID_RE = re.compile(r"[0-9a-f]{16}")
SECRET_RE = re.compile(r"[A-Za-z0-9_-]{43}")
# ``ask_`` + 16 + ``_`` + 43: anything longer is not a key and is refused before any work.
KEY_LENGTH = len(PREFIX) + 16 + 1 + 43


class Presented(NamedTuple):
    key_id: str
    secret: str


def new_key_id() -> str:
    return secrets.token_hex(8)


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def assemble(key_id: str, secret: str) -> str:
    return f"{PREFIX}{key_id}_{secret}"


def parse(value: object) -> Presented | None:
    """The key id and secret of a well-formed key, else None (no lookup for malformed input)."""
    if not isinstance(value, str) or len(value) != KEY_LENGTH or not value.startswith(PREFIX):
        return None
    key_id, sep, secret = value[len(PREFIX) :].partition("_")
    if not sep or not KEY_ID_RE.fullmatch(key_id) or not SECRET_RE.fullmatch(secret):
        return None
    return Presented(key_id, secret)


def hash_secret(secret: str) -> str:
    return keyed_hash(secret, HASH_PURPOSE)
