"""The branding app's settings (``core.conf.AppSettings``): names, types and defaults as in
``authserver/settings.py`` and the README (the environment variables of the same names).
A value stored by ``manage.py apply`` (``branding:``) takes precedence (``selectors.current``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from core.conf import AppSettings

DEFAULT_COLOR = "#2450c8"


@dataclass(frozen=True)
class BrandingSettings:
    BRAND_NAME: str = "authserver"
    BRAND_LOGO_URL: str = ""  # a path on this server (CSP img-src 'self'), e.g. /static/logo.svg
    BRAND_PRIMARY_COLOR: str = DEFAULT_COLOR  # #rgb or #rrggbb
    SUPPORT_URL: str = ""  # https:// or mailto:


# Read like the dataclass (typed); cached, and reset on ``setting_changed``.
settings = cast(BrandingSettings, AppSettings(BrandingSettings))
