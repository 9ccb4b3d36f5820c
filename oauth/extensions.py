"""oauth's extension points for the apps above it: registries they fill from their ``ready()``
(``mfa``: the second-factor policy; ``roles``: the ``roles`` claim), so oauth imports neither."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class SecondFactor:
    """The MFA policy the authorization endpoint, device approval and refresh apply."""

    # (user, *, client, acr_values, claims) -> whether this sign-in needs a second factor
    required: Callable[..., bool]
    # (the session's sign-in state, ``accounts.session.auth_state``) -> whether it used one
    satisfied: Callable[[Mapping[str, Any] | None], bool]
    # (request, *, client, next_url, acr_values, claims) -> where to step up, or None
    step_up_url: Callable[..., str | None]
    # the ``acr`` levels published in discovery
    acr_values_supported: list[str]


_second_factor: list[SecondFactor] = []

# Claim name -> callable (user) -> value, released in ID tokens and userinfo when the scope of
# the same name was granted (``roles``), registered by other apps' ready().
user_claims: dict[str, Callable[[Any], Any]] = {}


def register_second_factor(policy: SecondFactor) -> None:
    """Called by the MFA app's ready(): the one policy (a later call replaces it)."""
    _second_factor[:] = [policy]


def second_factor() -> SecondFactor:
    """The registered MFA policy; none registered is a configuration error, never "no MFA"."""
    if not _second_factor:
        raise ImproperlyConfigured("no second-factor policy registered (is mfa installed?)")
    return _second_factor[0]
