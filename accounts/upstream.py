"""What the sign-in page offers besides the password: upstream identity providers.

The app that owns them (federation, above this one) registers a callable from its ``ready()``:
(request, the URL the sign-in continues to) -> ``Choices``. The page shows a button per
provider, hides the password form when the pending authorization's client signs in only
upstream, and goes straight to a provider the client named (``kc_idp_hint``/``idp_hint``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.http import HttpRequest


@dataclass(frozen=True)
class Button:
    label: str
    url: str


@dataclass(frozen=True)
class Choices:
    buttons: list[Button] = field(default_factory=list)
    hide_password: bool = False
    go_to: str | None = None  # where the sign-in goes at once (a hinted provider)


sources: list[Callable[[HttpRequest, str], Choices]] = []


def choices(request: HttpRequest, next_url: str) -> Choices:
    """What the registered source offers (nothing without one)."""
    for source in sources:
        return source(request, next_url)
    return Choices()


# Callables (request) -> a URL where the browser goes once this session is signed out (an
# upstream provider's RP-initiated logout), or None; asked before the session ends.
logout_targets: list[Callable[[HttpRequest], str | None]] = []


def logout_target(request: HttpRequest) -> str | None:
    for target in logout_targets:
        url = target(request)
        if url:
            return url
    return None
