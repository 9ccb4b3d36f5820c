"""HTTP endpoints of the authorization server.

DOT's views are extended where they exist (authorize, token); introspection, JWKS and the two
discovery documents are ours because they serve our key store and our policy.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider import views as dot_views
from oauth2_provider.exceptions import OAuthToolkitError
from oauth2_provider.models import get_device_grant_model
from oauthlib.oauth2 import AccessDeniedError

from accounts.session import auth_state
from oauth import introspection, keys, server
from oauth.clientauth import authenticate_client
from oauth.models import GRANT_CLIENT_CREDENTIALS, GRANT_DEVICE_CODE, GRANT_TYPES
from roles.selectors import user_requires_mfa

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def oauth_error(error: str, description: str, status: int = 400, **headers: str) -> JsonResponse:
    """An RFC 6749 §5.2 error body, never cached."""
    return JsonResponse(
        {"error": error, "error_description": description},
        status=status,
        headers={**NO_STORE, **headers},
    )


class AuthorizationView(dot_views.AuthorizationView):
    """DOT's authorization endpoint, plus ``max_age`` and the sign-in context of the session."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        max_age = request.GET.get("max_age")
        if max_age is not None and request.user.is_authenticated:
            state = auth_state(request)
            try:
                too_old = state is None or time.time() - state["auth_time"] > int(max_age)
            except ValueError:
                too_old = False  # a malformed max_age is ignored, as unknown parameters are
            if too_old:
                return self.handle_prompt_login()
        return super().get(request, *args, **kwargs)

    def create_authorization_response(self, request, scopes, credentials, allow):  # noqa: ANN001, ANN201
        if allow and user_requires_mfa(request.user):
            # Until second factors exist (MFA issue), a role with require_mfa means no token.
            error = AccessDeniedError(
                description="A role of this account requires multi-factor authentication.",
                state=credentials.get("state"),
            )
            raise OAuthToolkitError(error=error, redirect_uri=credentials["redirect_uri"])
        credentials = {**credentials, "auth_context_data": auth_state(request) or {}}
        return super().create_authorization_response(request, scopes, credentials, allow)


@method_decorator(csrf_exempt, name="dispatch")
class TokenView(dot_views.TokenView):
    """DOT's token endpoint. Grants that consume a code or refresh token run in one transaction
    (row locks serialise concurrent redemptions); client credentials skip that."""

    http_method_names = ["post", "options"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        grant_type = request.POST.get("grant_type")
        if not grant_type:
            return oauth_error("invalid_request", "Missing grant_type parameter.")
        if grant_type not in GRANT_TYPES and grant_type not in server.extension_grants:
            return oauth_error("unsupported_grant_type", "This grant type is not supported.")
        if grant_type == GRANT_DEVICE_CODE:
            device_code = request.POST.get("device_code", "")
            if not get_device_grant_model().objects.filter(device_code=device_code).exists():
                return oauth_error("invalid_grant", "Unknown or expired device_code.")
            with transaction.atomic():
                response = super().post(request, *args, **kwargs)
        elif grant_type == GRANT_CLIENT_CREDENTIALS:
            response = self._token_response(request)
        else:
            with transaction.atomic():
                response = self._token_response(request)
        for name, value in NO_STORE.items():
            response[name] = value
        return response

    def _token_response(self, request: HttpRequest) -> HttpResponse:
        _url, headers, body, status = self.create_token_response(request)
        response = HttpResponse(body, status=status, content_type="application/json")
        for name, value in headers.items():
            response[name] = value
        return response


@method_decorator(csrf_exempt, name="dispatch")
class IntrospectView(View):
    """RFC 7662. Callers authenticate as a confidential client (Basic or client_secret_post)."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> JsonResponse:
        caller = authenticate_client(request)
        if caller is None:
            return oauth_error(
                "invalid_client",
                "Client authentication failed.",
                status=401,
                **{"WWW-Authenticate": 'Basic realm="authserver"'},
            )
        result = introspection.introspect(request.POST.get("token", ""), caller=caller)
        return JsonResponse(result, headers=NO_STORE)


def jwks(request: HttpRequest) -> JsonResponse:
    return JsonResponse(keys.jwks(), headers={"Cache-Control": "public, max-age=300"})


def _endpoints() -> dict[str, Any]:
    base = settings.ISSUER_URL
    return {
        "issuer": base,
        "authorization_endpoint": f"{base}/o/authorize/",
        "token_endpoint": f"{base}/o/token/",
        "jwks_uri": f"{base}/o/jwks/",
        "introspection_endpoint": f"{base}/o/introspect/",
        "revocation_endpoint": f"{base}/o/revoke_token/",
        "device_authorization_endpoint": f"{base}/o/device-authorization/",
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": [*GRANT_TYPES, *server.extension_grants],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": list(settings.OIDC_SCOPES),
        "token_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
            "none",
        ],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "PS256", "ES256"],
        "introspection_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
        ],
        "revocation_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "none",
        ],
        "authorization_response_iss_parameter_supported": True,
    }


def oauth_metadata(request: HttpRequest) -> JsonResponse:
    """RFC 8414 authorization server metadata."""
    return JsonResponse(_endpoints(), headers={"Cache-Control": "public, max-age=300"})


def openid_configuration(request: HttpRequest) -> JsonResponse:
    """OpenID Connect Discovery 1.0 §3."""
    base = settings.ISSUER_URL
    document = {
        **_endpoints(),
        "userinfo_endpoint": f"{base}/o/userinfo/",
        "end_session_endpoint": f"{base}/o/logout/",
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        "claims_supported": [
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "at_hash",
            "sid",
            "amr",
            "acr",
            "name",
            "preferred_username",
            "email",
            "email_verified",
            "roles",
        ],
        "prompt_values_supported": ["none", "login", "consent"],
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
    }
    return JsonResponse(document, headers={"Cache-Control": "public, max-age=300"})
