"""The authorization endpoint and the device approval page (DOT's views, with our MFA step-up
and the session's sign-in context)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from django import forms
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, resolve_url
from django.urls import reverse
from oauth2_provider import oauth2_backends
from oauth2_provider import views as dot_views
from oauth2_provider.exceptions import OAuthToolkitError
from oauth2_provider.forms import AllowForm
from oauth2_provider.settings import oauth2_settings
from oauthlib.oauth2.rfc6749.errors import AccessDeniedError, OAuth2Error
from oauthlib.openid.connect.core.exceptions import InteractionRequired

from accounts.session import auth_state
from core import clock
from oauth import dpop, extensions, par, request_objects
from oauth.device import remember_device_approval
from oauth.selectors import client_get


class ConsentForm(AllowForm):
    """DOT's consent form, carrying ``dpop_jkt`` (RFC 9449 §10) to the approval as well."""

    dpop_jkt = forms.RegexField(dpop.JKT, required=False, widget=forms.HiddenInput())


class AuthorizationView(dot_views.AuthorizationView):
    """DOT's authorization endpoint, plus pushed requests (RFC 9126), ``max_age``, MFA step-up
    and the session's sign-in context. DOT handles ``prompt=login`` (a fresh sign-in, with the
    second factor).

    A pushed request (``client_id`` + ``request_uri``) stands for its parameters: they replace
    the query before DOT reads it, and the consent form DOT derives from them is kept with the
    pushed request, so the approval posted back is that form, whatever the browser sends. The
    ``request_uri`` stays in every URL in between (sign-in, step-up) and is consumed when the
    authorization answers."""

    form_class = ConsentForm
    pushed: par.Pushed | None = None
    original_path: str = ""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.original_path = request.get_full_path()
        refusal = self._expand_request(request)
        if refusal is not None:
            return refusal
        max_age = request.GET.get("max_age")
        if max_age is not None and request.user.is_authenticated:
            state = auth_state(request)
            try:
                too_old = state is None or clock.now() - state["auth_time"] > int(max_age)
            except ValueError:
                too_old = False  # a malformed max_age is ignored, as unknown parameters are
            if too_old:
                return self.handle_prompt_login()
        prompt = set(request.GET.get("prompt", "").split())
        if request.user.is_authenticated and "login" not in prompt:
            step_up = self._step_up(request, request.GET, self.original_path)
            if step_up is None:
                step_up = _verify_email(request, request.GET, self.original_path)
            if step_up is not None:
                if "none" in prompt:
                    return self._interaction_required(request)
                return redirect(step_up)
        return super().get(request, *args, **kwargs)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        refusal = self._expand_request(request)
        if refusal is not None:
            return refusal
        if request.user.is_authenticated:
            if self.pushed is not None:
                params = {
                    "client_id": self.pushed.client_id,
                    "request_uri": self.pushed.request_uri,
                }
            else:
                params = {
                    k: v
                    for k, v in request.POST.items()
                    if k not in ("csrfmiddlewaretoken", "allow")
                }
            again = f"{reverse('oauth2_provider:authorize')}?{urlencode(params)}"
            step_up = self._step_up(request, request.POST, again) or _verify_email(
                request, request.POST, again
            )
            if step_up is not None:
                return redirect(step_up)
        return super().post(request, *args, **kwargs)

    def _expand_request(self, request: HttpRequest) -> HttpResponse | None:
        """Replace a pushed request's reference by its parameters (the query of a GET; the
        consent form kept at that GET for a POST), and a signed request object by what it
        carries; refuse an unknown, expired, used or another client's ``request_uri``, a request
        object that does not verify, and a client that must push but did not."""
        params = request.GET if request.method == "GET" else request.POST
        request_uri, client_id = params.get("request_uri"), params.get("client_id", "")
        if request_uri is None:
            client = client_get(client_id)
            if par.required(client):
                return self._refuse(
                    "invalid_request",
                    "This client must send its authorization requests through the pushed "
                    "authorization request endpoint (RFC 9126).",
                )
            if request.method == "GET" and "request" in request.GET:
                pairs = [(k, v) for k, values in request.GET.lists() for v in values]
                try:
                    _replace_query(request, request_objects.expand(pairs, client))
                except request_objects.RequestObjectError as error:
                    return self._refuse("invalid_request_object", str(error))
            return None
        pushed = par.resolve(request_uri, client_id)
        if pushed is not None and request.method == "GET":
            _replace_query(request, pushed.params)
        elif pushed is not None and pushed.form is not None:
            form = QueryDict(mutable=True)
            form.update({name: value for name, value in pushed.form.items() if value is not None})
            for name in ("csrfmiddlewaretoken", "allow"):
                if name in request.POST:
                    form[name] = request.POST[name]
            request.POST = form
        else:
            return self._refuse(
                "invalid_request_uri",
                "The request_uri is unknown, expired, already used or not this client's.",
            )
        self.pushed = pushed
        return None

    def _refuse(self, error: str, description: str) -> HttpResponse:
        """The error page (no redirect: the redirect URI is not known to be the client's)."""
        return self.render_to_response(
            {"error": {"error": error, "description": description}}, status=400
        )

    def get_initial(self) -> dict[str, Any]:
        initial = {**super().get_initial(), "dpop_jkt": self.request.GET.get("dpop_jkt")}
        if self.pushed is not None and self.request.method == "GET":
            par.keep_form(self.pushed, initial)
        return initial

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
            description="A second factor or a confirmed e-mail address is required.",
            state=credentials.get("state"),
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
        if self.pushed is not None:
            par.drop(self.pushed, frozenset({"prompt", "max_age"}))
            return redirect_to_login(self.original_path, login_url, self.get_redirect_field_name())
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
        if allow and _email_unverified(request.user, client):
            error = AccessDeniedError(
                description="This client requires a confirmed e-mail address.",
                state=credentials.get("state"),
            )
            raise OAuthToolkitError(error=error, redirect_uri=credentials["redirect_uri"])
        if self.pushed is not None and not par.consume(self.pushed.request_uri):
            error = OAuth2Error(description="The request_uri was already used.")
            error.error = "invalid_request_uri"
            raise OAuthToolkitError(error=error, redirect_uri=credentials["redirect_uri"])
        params = request.GET if request.method == "GET" else request.POST
        credentials = {
            **credentials,
            "auth_context_data": state or {},
            "dpop_jkt": params.get("dpop_jkt") or None,  # checked: pre_auth or the form
        }
        return super().create_authorization_response(request, scopes, credentials, allow)


def _email_unverified(user: Any, client: Any) -> bool:
    return bool(getattr(client, "require_verified_email", False) and not user.email_verified)


def _verify_email(request: HttpRequest, params: Any, next_url: str) -> str | None:
    """The "verify your address" page when the client requires a confirmed address the user
    has not confirmed (then back here)."""
    if not _email_unverified(request.user, client_get(params.get("client_id", ""))):
        return None
    return f"{reverse('selfservice:verify-status')}?{urlencode({'next': next_url})}"


def _replace_query(request: HttpRequest, params: list[tuple[str, str]]) -> None:
    """Make ``params`` the request's query, as DOT and oauthlib read it."""
    query = QueryDict(mutable=True)
    for name, value in params:
        query.appendlist(name, value)
    request.GET = query
    request.META["QUERY_STRING"] = query.urlencode()


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
