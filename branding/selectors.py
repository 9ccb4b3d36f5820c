"""The brand in force: what ``apply`` stored, else the settings (``branding.conf``).

Read by every page, so kept per process and dropped when the ``branding`` generation moves
(``BrandingConfig.ready``: every save of the row bumps it) or a setting changes."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from django.core.signals import setting_changed
from django.db import InterfaceError, OperationalError

from branding import validation
from branding.conf import DEFAULT_COLOR, BrandingSettings, settings
from branding.models import Brand
from core import generations

GENERATION = "branding"
_brand = generations.ProcessCache(GENERATION, max_entries=1, max_age=60)
_SETTINGS = {f.name for f in fields(BrandingSettings)}


def _setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in _SETTINGS:
        _brand.clear()


setting_changed.connect(_setting_changed, dispatch_uid="branding.selectors")


@dataclass(frozen=True)
class BrandInfo:
    name: str
    logo_url: str
    primary_color: str  # always a validated #rrggbb
    on_primary: str  # text colour on primary_color
    support_url: str


# field of Brand -> (its setting, what an invalid setting falls back to)
FALLBACKS = {
    "name": ("BRAND_NAME", "authserver"),
    "logo_url": ("BRAND_LOGO_URL", ""),
    "primary_color": ("BRAND_PRIMARY_COLOR", DEFAULT_COLOR),
    "support_url": ("SUPPORT_URL", ""),
}


def _setting(field: str) -> str:
    """A setting that fails its check (reported by ``branding.E001``) never reaches a page."""
    name, fallback = FALLBACKS[field]
    try:
        return validation.FIELDS[field](getattr(settings, name))
    except ValueError:
        return fallback


def current() -> BrandInfo:
    try:
        return _brand.get("brand", _load)
    except (OperationalError, InterfaceError):
        # The database is down: a page that still renders (an error page) shows the brand of
        # the settings, not a second error.
        return _build(None)


def _load() -> BrandInfo:
    return _build(Brand.objects.filter(pk=1).first())


def _build(stored: Brand | None) -> BrandInfo:
    value = {f: getattr(stored, f, "") or _setting(f) for f in FALLBACKS}
    return BrandInfo(**value, on_primary=validation.on_color(value["primary_color"]))
