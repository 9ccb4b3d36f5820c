"""``Actor``: who makes a change, as every domain service takes it (keyword-only ``actor``).

A service names the actor in its audit event (``audit_name``) and, where the change hands out
or restores privileges, asks it for a fresh second factor first (``require_fresh_factor``,
SECURITY 85) and, where it hands out permissions, whether it holds them itself
(``require_covers``, the hierarchy guard of ``roles.access``). The console's and the management
API's caller is a ``roles.decisions.Principal`` wrapped by ``roles.access.acting``; the
operator's own tooling (``manage.py apply``, the CLI) is a ``SystemActor``, which has no person
to ask.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol


class Actor(Protocol):
    @property
    def audit_name(self) -> str: ...

    def require_fresh_factor(self) -> None: ...

    def require_covers(self, permissions: Iterable[str], *, what: str) -> None: ...


@dataclass(frozen=True)
class SystemActor:
    """A change made by the deployment itself, named in the audit log; never asked for a second
    factor and bounded by no roles (only code constructs one: no request resolves to it)."""

    audit_name: str

    def require_fresh_factor(self) -> None:
        return None

    def require_covers(self, permissions: Iterable[str], *, what: str) -> None:
        return None


APPLY = SystemActor("apply")
