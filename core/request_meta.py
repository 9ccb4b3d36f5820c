"""``RequestMeta``: who sent a request, as the audit log records it, built once per request.

``request_meta(request)`` reads a Django request, or the oauthlib request inside DOT's endpoints
(DOT copies ``request.META`` into its ``headers``), and caches the result on it. The client
address is ``REMOTE_ADDR`` as ``core.proxy.TrustedProxies`` left it (the forwarded address only
when a trusted proxy sent it); the request id is the one ``RequestIdMiddleware`` sanitised and
wrote back into ``META``. Services take a ``meta`` keyword, never the request itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core import proxy

_CACHE = "_request_meta"


@dataclass(frozen=True)
class RequestMeta:
    ip: str | None = None
    user_agent: str = ""
    request_id: str = ""


# What a change made outside any request records (``manage.py apply``, Celery, a shell).
NO_REQUEST = RequestMeta()


def _variables(request: Any) -> Any:
    meta = getattr(request, "META", None)
    return meta if meta is not None else getattr(request, "headers", None) or {}


def request_meta(request: Any) -> RequestMeta:
    """The ``RequestMeta`` of ``request`` (``NO_REQUEST`` for None), computed once."""
    if request is None:
        return NO_REQUEST
    cached = getattr(request, _CACHE, None)
    if isinstance(cached, RequestMeta):
        return cached
    variables = _variables(request)
    meta = RequestMeta(
        ip=proxy.client_ip(variables),
        user_agent=str(variables.get("HTTP_USER_AGENT", "")),
        request_id=str(variables.get("HTTP_X_REQUEST_ID", "")),
    )
    try:
        setattr(request, _CACHE, meta)
    except AttributeError:  # an object that takes no attributes: computed again next time
        pass
    return meta
