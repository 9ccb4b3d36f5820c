"""What the browser session remembers about how its user signed in.

``auth_state`` is read by the authorization endpoint and copied into the token family, so
``auth_time``, ``amr``, ``acr`` and ``sid`` in tokens describe the real sign-in.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from django.http import HttpRequest

SESSION_KEY = "authserver.auth"


def record_login(request: HttpRequest, *, amr: list[str], acr: str) -> None:
    """Call right after ``django.contrib.auth.login`` (which rotated the session key)."""
    request.session[SESSION_KEY] = {
        "auth_time": int(time.time()),
        "amr": amr,
        "acr": acr,
        "sid": secrets.token_urlsafe(16),
    }


def auth_state(request: HttpRequest) -> dict[str, Any] | None:
    state = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
    return state if isinstance(state, dict) else None
