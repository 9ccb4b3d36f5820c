"""Django's ``LocaleMiddleware``, plus OIDC ``ui_locales`` (Core 1.0 §3.1.2.1).

The first supported tag of ``ui_locales`` on an authorization request chooses the language of
the pages that follow (sign-in, second factor, consent) and is kept in the session; without
one, Django's order applies (language cookie, then ``Accept-Language``, then
``LANGUAGE_CODE``). Machine endpoints answer in JSON and never read the session here.
"""

from __future__ import annotations

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest
from django.middleware import locale
from django.urls import reverse
from django.utils import translation

SESSION_KEY = "branding_ui_locale"


def ui_locale(tags: str) -> str | None:
    """The first of the space-separated BCP 47 ``tags`` this server speaks (``de-CH`` -> ``de``)."""
    for tag in tags.split()[:20]:
        try:
            return translation.get_supported_language_variant(tag)
        except LookupError:
            continue
    return None


class LocaleMiddleware(locale.LocaleMiddleware):
    def process_request(self, request: HttpRequest) -> None:
        # Machine endpoints (their own stack in production) never load the session for this.
        machine = request.path_info.startswith(settings.MACHINE_PATH_PREFIXES)
        session = None if machine else getattr(request, "session", None)
        chosen = None
        if "ui_locales" in request.GET and request.path_info == reverse(
            "oauth2_provider:authorize"
        ):
            chosen = ui_locale(request.GET["ui_locales"])
            if chosen and session is not None and session.get(SESSION_KEY) != chosen:
                session[SESSION_KEY] = chosen
        if chosen is None and session is not None:
            try:
                chosen = session.get(SESSION_KEY)
            except (OperationalError, InterfaceError):
                # The database is down: the view answers 503 when it reads the session (as
                # before this middleware); until then, Accept-Language.
                chosen = None
        if chosen is None:
            super().process_request(request)
            return
        translation.activate(chosen)
        request.LANGUAGE_CODE = translation.get_language()
