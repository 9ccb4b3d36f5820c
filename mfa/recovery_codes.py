"""Single-use recovery codes: 10 random codes, shown once, stored as keyed hashes."""

from __future__ import annotations

import secrets

from core.crypto import keyed_hash

COUNT = 10
ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i
LENGTH = 10  # ~49 bits each
PURPOSE = "mfa-recovery-code"


def generate(count: int = COUNT) -> list[str]:
    """Fresh codes formatted ``xxxxx-xxxxx`` for reading aloud and typing."""
    codes = []
    for _ in range(count):
        raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def normalise(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def looks_like_recovery_code(code: str) -> bool:
    value = normalise(code)
    return len(value) == LENGTH and all(ch in ALPHABET for ch in value)


def hash_code(code: str) -> str:
    return keyed_hash(normalise(code), PURPOSE)


def find(code: str, hashes: list[str]) -> int | None:
    """Index of the stored hash ``code`` matches (every entry compared), else None."""
    candidate = hash_code(code)
    found = None
    for index, stored in enumerate(hashes):
        if secrets.compare_digest(candidate, stored) and found is None:
            found = index
    return found
