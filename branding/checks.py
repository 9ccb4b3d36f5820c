"""``manage.py check``: a brand setting that ``apply`` would refuse is an error (the pages fall
back to the default meanwhile: ``selectors.FALLBACKS``)."""

from __future__ import annotations

from typing import Any

from django.core.checks import Error, register

from branding import validation
from branding.conf import settings
from branding.selectors import FALLBACKS


@register()
def brand_settings(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    errors = []
    for field, (name, _) in FALLBACKS.items():
        value = getattr(settings, name)
        if field != "name" and not value:
            continue  # no logo, no support link
        try:
            validation.FIELDS[field](value)
        except ValueError as exc:
            errors.append(Error(f"{name} {exc}", id="branding.E001", obj=name))
    return errors
