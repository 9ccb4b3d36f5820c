"""The theme stylesheet: the brand colour as CSS custom properties (CSP ``style-src 'self'``
holds: no inline style, and only a validated ``#rrggbb`` is ever written)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from branding import selectors


@require_safe
def theme_css(request: HttpRequest) -> HttpResponse:
    brand = selectors.current()
    body = f":root {{ --accent: {brand.primary_color}; --on-accent: {brand.on_primary}; }}\n"
    return HttpResponse(
        body, content_type="text/css; charset=utf-8", headers={"Cache-Control": "no-cache"}
    )
