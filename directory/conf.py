"""The directory app's settings (``core.conf.AppSettings``): names, types and defaults as in
``authserver/settings.py`` and the README (the environment variables of the same names)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from core.conf import AppSettings


@dataclass(frozen=True)
class DirectorySettings:
    DIRECTORY_TIMEOUT_SECONDS: float = 5.0  # connect and each answer, per server URL
    DIRECTORY_SYNC_SECONDS: int = 3600  # how often Celery beat runs the sync


settings = cast(DirectorySettings, AppSettings(DirectorySettings))
