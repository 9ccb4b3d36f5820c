"""OIDC userinfo (DOT's view)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider import views as dot_views

from core.responses import oauth_error
from oauth import binding, dpop


@method_decorator(csrf_exempt, name="dispatch")
class UserInfoView(dot_views.UserInfoView):
    """DOT's userinfo; a token in the URL query is refused (RFC 9700 §2.5, OAuth 2.1), and a
    bound token only as its binding requires (``oauth.binding``: RFC 9449 §7, RFC 8705 §3)."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if "access_token" in request.GET:
            return oauth_error(
                "invalid_request",
                "Send the access token in the Authorization header.",
                status=401,
                **{"WWW-Authenticate": 'Bearer error="invalid_request"'},
            )
        presented = binding.presented(
            request, method=request.method or "GET", url=dpop.endpoint_url(request)
        )
        if presented.problem is not None:
            return oauth_error(
                "invalid_token",
                presented.problem,
                status=401,
                **{"WWW-Authenticate": presented.www_authenticate()},
            )
        if request.META.get("HTTP_AUTHORIZATION", "")[:5].lower() == "dpop ":
            # proven: DOT (oauthlib) reads bearer credentials only
            request.META["HTTP_AUTHORIZATION"] = f"Bearer {presented.token}"
        return super().dispatch(request, *args, **kwargs)
