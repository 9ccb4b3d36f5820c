"""The mfa app's settings (``core.conf.AppSettings``): names, types and defaults as in
``authserver/settings.py`` and the README (the environment variables of the same names)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from core.conf import AppSettings


@dataclass(frozen=True)
class MfaSettings:
    MFA_REQUIRED: bool = False  # every user needs a second factor
    MFA_MAX_ATTEMPTS: int = 5  # wrong codes before the factor locks
    MFA_LOCKOUT_SECONDS: int = 30  # first lock; doubles per lock
    MFA_LOCKOUT_MAX_SECONDS: int = 3600
    MFA_PENDING_SECONDS: int = 300  # password done, factor pending
    MFA_REAUTH_SECONDS: int = 600  # fresh sign-in for factor changes
    MFA_TOTP_ISSUER: str = "authserver"
    WEBAUTHN_RP_ID: str | None = None  # default: the host of ISSUER_URL
    WEBAUTHN_RP_NAME: str = "authserver"


# Read like the dataclass (typed); cached, and reset on ``setting_changed``.
settings = cast(MfaSettings, AppSettings(MfaSettings))
