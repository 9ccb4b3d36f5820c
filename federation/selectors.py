"""Reads of the federation app."""

from __future__ import annotations

from typing import Any

from federation.models import IdentityProvider, LinkedIdentity


def enabled_providers() -> list[IdentityProvider]:
    return list(IdentityProvider.objects.filter(enabled=True))


def enabled_provider(slug: str) -> IdentityProvider | None:
    return IdentityProvider.objects.filter(slug=slug, enabled=True).first()


def links_of(user: Any) -> list[LinkedIdentity]:
    return list(
        LinkedIdentity.objects.filter(user=user).select_related("provider").order_by("provider")
    )


def provider_list(ordering: str = "slug") -> list[IdentityProvider]:
    return list(IdentityProvider.objects.order_by(ordering))
