"""WSGI entry point: two Django handlers sharing one URLconf.

Machine endpoints (token, introspection, revocation, userinfo, JWKS, discovery, decisions) carry
no cookies and need no session, CSRF, auth or message middleware, so they are served by a handler
built from ``MACHINE_MIDDLEWARE``; every other path gets the full ``MIDDLEWARE`` stack.
Both sit behind ``TrustedProxies`` (X-Forwarded-* believed only from ``TRUSTED_PROXIES``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "authserver.settings")

import django  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.handlers.wsgi import WSGIHandler  # noqa: E402

from core.proxy import TrustedProxies, parse_networks  # noqa: E402

django.setup(set_prefix=False)


class MachineHandler(WSGIHandler):
    """A WSGIHandler whose middleware chain is ``settings.MACHINE_MIDDLEWARE``."""

    def load_middleware(self, is_async: bool = False) -> None:
        full = settings.MIDDLEWARE
        settings.MIDDLEWARE = settings.MACHINE_MIDDLEWARE
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = full


class PathRouter:
    def __init__(self, machine: WSGIHandler, browser: WSGIHandler, prefixes: tuple[str, ...]):
        self.machine = machine
        self.browser = browser
        self.prefixes = prefixes

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        handler = self.machine if path.startswith(self.prefixes) else self.browser
        return handler(environ, start_response)


application = TrustedProxies(
    PathRouter(MachineHandler(), WSGIHandler(), settings.MACHINE_PATH_PREFIXES),
    parse_networks(settings.TRUSTED_PROXIES),
)
