"""HTTP endpoints of the authorization server.

DOT's views are extended where they exist (authorize, token); introspection, JWKS and the two
discovery documents are ours because they serve our key store and our policy.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, resolve_url
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider import oauth2_backends
from oauth2_provider import views as dot_views
from oauth2_provider.exceptions import OAuthToolkitError
from oauth2_provider.models import get_device_grant_model
from oauth2_provider.settings import oauth2_settings
from oauthlib.oauth2.rfc6749.errors import AccessDeniedError
from oauthlib.openid.connect.core.exceptions import InteractionRequired

from accounts.session import auth_state
from core.limits import LimitUnavailable
from core.responses import NO_STORE, json_response, oauth_error
from oauth import client_assertion, clientauth, events, extensions, introspection, keys, server
from oauth.clientauth import authenticate_client
from oauth.models import GRANT_CLIENT_CREDENTIALS, GRANT_DEVICE_CODE, GRANT_TYPES
from oauth.selectors import client_get
from oauth.validators import remember_device_approval


class AuthorizationView(dot_views.AuthorizationView):
    """DOT's authorization endpoint, plus ``max_age``, MFA step-up and the session's sign-in
    context. DOT handles ``prompt=login`` (a fresh sign-in, with the second factor)."""

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
        prompt = set(request.GET.get("prompt", "").split())
        if request.user.is_authenticated and "login" not in prompt:
            step_up = self._step_up(request, request.GET, request.get_full_path())
            if step_up is not None:
                if "none" in prompt:
                    return self._interaction_required(request)
                return redirect(step_up)
        return super().get(request, *args, **kwargs)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated:
            params = {
                k: v for k, v in request.POST.items() if k not in ("csrfmiddlewaretoken", "allow")
            }
            again = f"{reverse('oauth2_provider:authorize')}?{urlencode(params)}"
            step_up = self._step_up(request, request.POST, again)
            if step_up is not None:
                return redirect(step_up)
        return super().post(request, *args, **kwargs)

    def _step_up(self, request: HttpRequest, params: Any, next_url: str) -> str | None:
        """MFA demanded by the user, their roles, the client or the request, not yet done."""
        return extensions.second_factor().step_up_url(
            request,
            client=client_get(params.get("client_id", "")),
            next_url=next_url,
            acr_values=params.get("acr_values"),
            claims=params.get("claims"),
        )

    def _interaction_required(self, request: HttpRequest) -> HttpResponse:
        """``prompt=none`` but a second factor is needed: OIDC Core §3.1.2.6 error."""
        try:
            _scopes, credentials = self.validate_authorization_request(request)
        except OAuthToolkitError as error:
            return self.error_response(error, application=None)
        error = InteractionRequired(
            description="A second factor is required.", state=credentials.get("state")
        )
        application = client_get(credentials["client_id"])
        return self.error_response(
            OAuthToolkitError(error=error, redirect_uri=credentials["redirect_uri"]), application
        )

    def redirect(self, redirect_to: str, application: Any) -> HttpResponse:
        """Every redirect back to the client, errors included (missing PKCE, ``access_denied``,
        ``login_required``, ...), carries ``iss`` (RFC 9207 §2). DOT adds it to successful
        responses only; its helper replaces an ``iss`` already there, so success keeps one."""
        issuer = oauth2_settings.oauth2_authorization_server_issuer(self.request)
        return super().redirect(
            oauth2_backends._add_iss_to_redirect(redirect_to, issuer), application
        )

    def handle_prompt_login(self) -> HttpResponse:
        """Back to the sign-in page, then here without ``prompt``/``max_age`` (which would
        ask again forever)."""
        login_url = resolve_url(self.get_login_url())
        parts = urlsplit(self.request.get_full_path())
        query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("prompt", "max_age")]
        again = parts._replace(query=urlencode(query)).geturl()
        return redirect_to_login(again, login_url, self.get_redirect_field_name())

    def create_authorization_response(self, request, scopes, credentials, allow):  # noqa: ANN001, ANN201
        state = auth_state(request)
        client = client_get(credentials.get("client_id", ""))
        mfa = extensions.second_factor()
        if allow and mfa.required(request.user, client=client) and not mfa.satisfied(state):
            # Behind the step-up in get()/post(): never a code for a session that lacks MFA.
            error = AccessDeniedError(
                description="This sign-in requires multi-factor authentication.",
                state=credentials.get("state"),
            )
            raise OAuthToolkitError(error=error, redirect_uri=credentials["redirect_uri"])
        credentials = {**credentials, "auth_context_data": state or {}}
        return super().create_authorization_response(request, scopes, credentials, allow)


class DeviceConfirmView(dot_views.DeviceConfirmView):
    """DOT's device approval page; approving needs the same MFA as the authorization endpoint."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated:
            step_up = extensions.second_factor().step_up_url(
                request, client=client_get(kwargs.get("client_id", "")), next_url=request.path
            )
            if step_up is not None:
                return redirect(step_up)
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form: Any) -> HttpResponse:
        device = self.get_object()
        response = super().form_valid(form)
        client = client_get(device.client_id)
        if form.cleaned_data["action"] == "accept" and client is not None:
            remember_device_approval(
                device.device_code,
                user=self.request.user,
                client=client,
                state=auth_state(self.request) or {},
            )
        return response


def machine_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A machine endpoint's view function (``as_view()``): its callers authenticate themselves
    and send no cookies, so it is exempt from CSRF and from any sign-in requirement. Marked
    once here: DOT marks its views with ``method_decorator`` on ``dispatch``, which builds both
    wrappers again on every request."""
    return csrf_exempt(login_not_required(view))


class TokenView(dot_views.TokenView):
    """DOT's token endpoint. Grants that consume a code or refresh token run in one transaction
    (row locks serialise concurrent redemptions); client credentials skip that. Mounted through
    ``machine_view``, so DOT's per-request wrappers of ``dispatch`` are skipped."""

    http_method_names = ["post", "options"]
    dispatch = View.dispatch

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        """Count each failed client authentication; once the claimed client or the IP has too
        many, failures are answered 429 ``slow_down`` with ``Retry-After`` (``oauth.clientauth``).
        An IP blocked by the abuse response gets that answer for every request."""
        try:
            wait = clientauth.ip_blocked(request)
            if wait:
                return oauth_error(
                    "slow_down",
                    "Too many failed attempts; retry later.",
                    status=429,
                    **{"Retry-After": str(wait)},
                )
            response = self._grant(request, *args, **kwargs)
            if clientauth.is_client_auth_failure(response):
                wait = clientauth.token_auth_failed(request)
                if wait:
                    return oauth_error(
                        "slow_down",
                        "Too many failed client authentications; retry later.",
                        status=429,
                        **{"Retry-After": str(wait)},
                    )
            elif response.status_code >= 400:
                events.token_refused(request, response, clientauth.claimed_client_id(request))
        except LimitUnavailable:
            return oauth_error(
                "temporarily_unavailable",
                "The server cannot serve this request right now.",
                status=503,
                **{"Retry-After": "30"},
            )
        return response

    def _grant(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        repeated = server.repeated_parameters(  # oauthlib reads the query string too
            name
            for form in (request.GET, request.POST)
            for name, values in form.lists()
            for _ in values
        )
        if repeated:
            return oauth_error("invalid_request", repeated)
        grant_type = request.POST.get("grant_type")
        if not grant_type:
            return oauth_error("invalid_request", "Missing grant_type parameter.")
        if grant_type not in GRANT_TYPES and grant_type not in server.extension_grants:
            return oauth_error("unsupported_grant_type", "This grant type is not supported.")
        client_assertion.prefetch_key(request.POST)  # no network wait inside a transaction
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
        if (
            response.status_code == 401
            and request.META.get("HTTP_AUTHORIZATION", "")[:6].lower() == "basic "
        ):
            # RFC 6749 §5.2: answer in the authentication scheme the client used
            response["WWW-Authenticate"] = 'Basic realm="authserver", error="invalid_client"'
        return response

    def _token_response(self, request: HttpRequest) -> HttpResponse:
        _url, headers, body, status = self.create_token_response(request)
        response = HttpResponse(body, status=status, content_type="application/json")
        for name, value in headers.items():
            response[name] = value
        return response


class IntrospectView(View):
    """RFC 7662. Callers authenticate as a confidential client (Basic or client_secret_post);
    mounted through ``machine_view``. An extra parameter ``ip_address`` states where the
    token's holder is (an API key with a source allow-list is inactive without it)."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        caller = authenticate_client(request)
        if caller is None:
            events.introspection_refused(request, clientauth.claimed_client_id(request))
            return oauth_error(
                "invalid_client",
                "Client authentication failed.",
                status=401,
                **{"WWW-Authenticate": 'Basic realm="authserver"'},
            )
        result = introspection.introspect(
            request.POST.get("token", ""),
            caller=caller,
            holder_ip=request.POST.get("ip_address") or None,
        )
        return json_response(result, NO_STORE)


@method_decorator(csrf_exempt, name="dispatch")
class UserInfoView(dot_views.UserInfoView):
    """DOT's userinfo; a token in the URL query is refused (RFC 9700 §2.5, OAuth 2.1)."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if "access_token" in request.GET:
            return oauth_error(
                "invalid_request",
                "Send the access token in the Authorization header.",
                status=401,
                **{"WWW-Authenticate": 'Bearer error="invalid_request"'},
            )
        return super().dispatch(request, *args, **kwargs)


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
        "acr_values_supported": extensions.second_factor().acr_values_supported,
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
    }
    return JsonResponse(document, headers={"Cache-Control": "public, max-age=300"})
