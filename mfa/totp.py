"""TOTP (RFC 6238) as pure functions over plain data: SHA-1, 6 digits, 30 s steps, ±1 step.

The accepted window is the current step and one either side (RFC 6238 §5.2 drift, NIST SP
800-63B-4 §3.1.4: OTP lifetime = drift + entry delay); this is wider than ASVS 6.5.5's 30 s and
is the documented choice. ``last_used_step`` makes every code single-use: only a step strictly
after the last accepted one matches.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from urllib.parse import quote

import pyotp

PERIOD = 30
DIGITS = 6
WINDOW = 1
SECRET_BYTES = 20  # 160 bits, the RFC 4226 recommendation


def generate_secret() -> str:
    """A random base32 seed (160 bits)."""
    return pyotp.random_base32(length=SECRET_BYTES * 8 // 5)


def step_at(timestamp: float, period: int = PERIOD) -> int:
    return int(timestamp // period)


def code_at(
    secret: str,
    timestamp: float,
    *,
    digits: int = DIGITS,
    digest: Callable = hashlib.sha1,
    period: int = PERIOD,
) -> str:
    """The code for ``timestamp`` (RFC 6238 §4 with T0 = 0)."""
    return pyotp.TOTP(secret, digits=digits, digest=digest, interval=period).at(int(timestamp))


def matching_step(
    secret: str, code: str, *, now: float, last_used_step: int | None = None
) -> int | None:
    """The time step ``code`` belongs to within the window, if it is not used up; else None.

    Every candidate step is compared (constant-time) so timing does not tell which matched.
    """
    code = "".join(code.split())
    if len(code) != DIGITS or not code.isascii() or not code.isdigit():
        return None
    current = step_at(now)
    found = None
    for step in range(current - WINDOW, current + WINDOW + 1):
        expected = code_at(secret, step * PERIOD)
        fresh = last_used_step is None or step > last_used_step
        if secrets.compare_digest(expected, code) and fresh and found is None:
            found = step
    return found


def provisioning_uri(secret: str, *, account: str, issuer: str) -> str:
    """The ``otpauth://`` URI authenticator apps scan (Key Uri Format)."""
    label = quote(f"{issuer}:{account}")
    return (
        f"otpauth://totp/{label}?secret={secret}&issuer={quote(issuer)}"
        f"&algorithm=SHA1&digits={DIGITS}&period={PERIOD}"
    )
