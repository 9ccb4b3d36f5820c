"""``brand`` in every template (the page chrome: name, logo, support link, theme)."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from branding import selectors


def brand(request: HttpRequest) -> dict[str, object]:
    return {"brand": SimpleLazyObject(selectors.current)}
