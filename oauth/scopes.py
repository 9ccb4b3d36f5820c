"""Scopes backend: a client may ask only for the scopes configured on it."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from oauth2_provider.scopes import BaseScopes


class _Descriptions(dict):
    """Known scope descriptions; an API scope without one is described by its own name."""

    def __missing__(self, key: str) -> str:
        return key


class ClientScopes(BaseScopes):
    def get_all_scopes(self) -> dict[str, str]:
        return _Descriptions(settings.OIDC_SCOPES)

    def get_available_scopes(
        self, application: Any = None, request: Any = None, *args: Any, **kwargs: Any
    ) -> list[str]:
        return list(application.allowed_scopes) if application is not None else []

    def get_default_scopes(
        self, application: Any = None, request: Any = None, *args: Any, **kwargs: Any
    ) -> list[str]:
        return []
