"""Response headers every endpoint sends, browser page or machine endpoint alike."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

# Pages are server-rendered with no inline script: a strict policy costs nothing.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self' http: https:; frame-ancestors 'none'"
)


class SecurityHeadersMiddleware:
    """HSTS, nosniff, referrer policy, CSP with ``frame-ancestors 'none'``, X-Frame-Options."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        hsts = f"max-age={settings.SECURE_HSTS_SECONDS}; includeSubDomains"
        self.headers = {
            "Strict-Transport-Security": hsts,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "X-Frame-Options": "DENY",
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        }

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        for name, value in self.headers.items():
            if name not in response:
                response[name] = value
        return response
