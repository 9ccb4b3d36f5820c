"""OIDC userinfo (DOT's view)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider import views as dot_views

from core.responses import oauth_error
from oauth import dpop


@method_decorator(csrf_exempt, name="dispatch")
class UserInfoView(dot_views.UserInfoView):
    """DOT's userinfo; a token in the URL query is refused (RFC 9700 §2.5, OAuth 2.1), and a
    DPoP-bound token is accepted only with a proof of its key (RFC 9449 §7)."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if "access_token" in request.GET:
            return oauth_error(
                "invalid_request",
                "Send the access token in the Authorization header.",
                status=401,
                **{"WWW-Authenticate": 'Bearer error="invalid_request"'},
            )
        token, problem = dpop.presented(
            request, method=request.method or "GET", url=dpop.endpoint_url(request)
        )
        if problem is not None:
            return oauth_error(
                "invalid_token",
                problem,
                status=401,
                **{"WWW-Authenticate": f'{dpop.CHALLENGE}, error="invalid_token"'},
            )
        if request.META.get("HTTP_AUTHORIZATION", "")[:5].lower() == "dpop ":
            # proven: DOT (oauthlib) reads bearer credentials only
            request.META["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        return super().dispatch(request, *args, **kwargs)
