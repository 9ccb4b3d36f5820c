"""Reads about a user's second factors."""

from __future__ import annotations

from typing import Any

from mfa.models import Authenticator


def authenticators_of(user: Any) -> list[Authenticator]:
    return list(Authenticator.objects.filter(user=user).order_by("type", "created_at"))


def has_factor(user: Any) -> bool:
    """Whether ``user`` has a factor that can sign in (recovery codes alone do not count)."""
    return (
        Authenticator.objects.filter(user=user)
        .exclude(type=Authenticator.Type.RECOVERY_CODES)
        .exists()
    )


def totp_of(user: Any) -> Authenticator | None:
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()


def recovery_codes_of(user: Any) -> Authenticator | None:
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.RECOVERY_CODES).first()


def passkeys_of(user: Any) -> list[Authenticator]:
    return list(
        Authenticator.objects.filter(user=user, type=Authenticator.Type.WEBAUTHN).order_by(
            "created_at"
        )
    )
