"""Where a page's forms may lead: the CSP ``form-action`` origins beyond ``'self'``.

Browsers apply ``form-action`` to the redirects that follow a form submission too, so a form
whose answer ends in a redirect to a client (the consent page; sign-in and the second factor
when they continue an authorization request; RP-initiated logout) needs that client's origin
listed, and only that one. A URI counts only when it is registered for the request's client.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import SplitResult, urlsplit

from django.http import QueryDict

from oauth.selectors import client_get

AUTHORIZE_PATH = "/o/authorize/"
LOGOUT_PATH = "/o/logout/"


def redirect_origin(url: str) -> str | None:
    """The origin that the authorization or logout request ``url`` (a path of ours with its
    query) redirects to, when its client registered that redirect URI; else None."""
    try:
        parts = urlsplit(url)
        return _registered_origin(parts)
    except ValueError:  # not a URL at all (e.g. "http://[" in ``next``): no origin
        return None


def _registered_origin(parts: SplitResult) -> str | None:
    if parts.scheme or parts.netloc or parts.path not in (AUTHORIZE_PATH, LOGOUT_PATH):
        return None
    params = QueryDict(parts.query)
    client = client_get(params.get("client_id", ""))
    if client is None:
        return None
    if parts.path == AUTHORIZE_PATH:
        target = params.get("redirect_uri") or client.default_redirect_uri
        allowed = bool(target) and client.redirect_uri_allowed(target)
    else:
        target = params.get("post_logout_redirect_uri", "")
        allowed = bool(target) and client.post_logout_redirect_uri_allowed(target)
    if not allowed:
        return None
    target_parts = urlsplit(target)
    return f"{target_parts.scheme}://{target_parts.netloc}"


def origins(urls: Iterable[str | None]) -> list[str]:
    """The registered redirect origins of ``urls`` (the page's own, its ``next``), deduplicated."""
    found = (redirect_origin(url) for url in urls if url)
    return sorted({origin for origin in found if origin is not None})
