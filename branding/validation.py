"""Checks of brand values, shared by the settings check, ``apply`` and the service: each
returns the cleaned value or raises ``ValueError`` with a message for the operator.

Every value ends up in a page or a stylesheet, so each is narrowed to a shape that cannot
escape its place: a colour is a hex literal (nothing else reaches CSS), a logo is a path on this
server (the CSP keeps ``img-src 'self'``), a support link is ``https:`` or ``mailto:`` (never
``javascript:``).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_HEX = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
MAX_NAME = 64


def name(value: str) -> str:
    value = value.strip()
    if not value or len(value) > MAX_NAME or any(ord(c) < 32 for c in value):
        raise ValueError(f"must be 1 to {MAX_NAME} printable characters")
    return value


def color(value: str) -> str:
    """``#rgb`` or ``#rrggbb``, returned as lower-case ``#rrggbb``."""
    value = value.strip()
    if not _HEX.fullmatch(value):
        raise ValueError("must be a hex colour like #2450c8 or #25c")
    if len(value) == 4:
        value = "#" + "".join(c * 2 for c in value[1:])
    return value.lower()


def logo_url(value: str) -> str:
    """Empty (no logo) or an absolute path on this server: ``/static/brand/logo.svg``."""
    value = value.strip()
    if value and (
        not value.startswith("/") or value.startswith("//") or "\\" in value or " " in value
    ):
        raise ValueError("must be a path on this server, like /static/brand/logo.svg")
    return value


def support_url(value: str) -> str:
    """Empty (no link), an ``https://`` URL or a ``mailto:`` address."""
    value = value.strip()
    if not value:
        return value
    parts = urlsplit(value)
    if (parts.scheme == "https" and parts.netloc) or (parts.scheme == "mailto" and parts.path):
        return value
    raise ValueError("must be an https:// URL or a mailto: address")


def on_color(hex_color: str) -> str:
    """Black or white, whichever reads better on ``hex_color`` (WCAG relative luminance)."""

    def channel(h: str) -> float:
        c = int(h, 16) / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(hex_color[i : i + 2]) for i in (1, 3, 5))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    # Contrast against white (1.05 / (L + .05)) against contrast against black ((L + .05) / .05).
    return "#ffffff" if 1.05 / (luminance + 0.05) >= (luminance + 0.05) / 0.05 else "#000000"


FIELDS = {
    "name": name,
    "logo_url": logo_url,
    "primary_color": color,
    "support_url": support_url,
}
