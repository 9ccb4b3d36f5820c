"""One typed, namespaced settings object per app, as DOT's ``oauth2_settings``.

An app lists the Django settings it reads, with their types and defaults, in a frozen dataclass
in its own ``conf.py`` and reads them through ``settings = AppSettings(TheirDataclass)``. The
names are today's flat Django setting names (``MFA_MAX_ATTEMPTS``; the environment variables
behind them stay in ``authserver/settings.py``); a setting the project does not define takes the
dataclass default. The values are read once and cached; ``setting_changed`` (tests'
``settings`` fixture, ``override_settings``) drops the cache.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Generic, TypeVar

from django.conf import settings as django_settings
from django.core.signals import setting_changed

T = TypeVar("T")


class AppSettings(Generic[T]):
    def __init__(self, schema: type[T]) -> None:
        self._schema = schema
        self._names = {f.name for f in dataclasses.fields(schema)}  # type: ignore[arg-type]
        self._current: T | None = None
        setting_changed.connect(self._reset, weak=False)

    @property
    def current(self) -> T:
        """This app's settings now (built from Django's on first use after a change)."""
        if self._current is None:
            given = {
                n: getattr(django_settings, n) for n in self._names if hasattr(django_settings, n)
            }
            self._current = self._schema(**given)
        return self._current

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.current, name)

    def _reset(self, *, setting: str, **kwargs: Any) -> None:
        if setting in self._names:
            self._current = None
