"""Sign-in and sign-out pages (server-rendered, CSRF-protected)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from abuse import guard as abuse
from accounts import upstream
from accounts.backends import SourceUnavailable
from accounts.limits import LOGIN_PER_ACCOUNT, account_key, login_checks
from accounts.models import User
from accounts.session import ACR_PASSWORD, record_login, second_step
from audit.models import AuditEvent
from audit.services import client_ip, record
from core import limits, metrics
from core.request_meta import request_meta
from mail import notices


class LoginView(auth_views.LoginView):
    """Django's login view, throttled, with a second step when the user has (or needs) a factor.

    Every failure (unknown user, wrong password, inactive account, throttled) renders the same
    page with the same message; Django's ModelBackend hashes a dummy password for unknown users
    to equalise timing. Failures are counted per typed username and per client IP, and feed
    the abuse response: an IP blocked by it gets 429 with ``Retry-After`` whatever is typed.
    """

    template_name = "registration/login.html"
    redirect_authenticated_user = False

    def get_initial(self) -> dict[str, Any]:
        """Pre-fill the username from an OIDC ``login_hint`` on the pending authorization."""
        initial = super().get_initial()
        query = parse_qs(urlsplit(self.get_redirect_url() or "").query)
        hint = query.get("login_hint", [""])[0]
        if hint and len(hint) <= 150:
            initial["username"] = hint
        return initial

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        offered = upstream.choices(request, self.get_redirect_url())
        if offered.go_to:
            return HttpResponseRedirect(offered.go_to)
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        offered = upstream.choices(self.request, self.get_redirect_url())
        context.update(
            providers=offered.buttons,
            hide_password=offered.hide_password,
            registration_open=settings.REGISTRATION_OPEN,  # "Create an account"
        )
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if upstream.choices(request, self.get_redirect_url()).hide_password:
            return self._failed(self.get_form(), status=403)
        blocked = abuse.refusal(request, where="login")
        if blocked:
            return self._ip_blocked(blocked)
        username = request.POST.get("username", "")[:150]
        try:
            with limits.one_at_a_time(LOGIN_PER_ACCOUNT, username) as alone:
                if alone and not limits.retry_after(*login_checks(username, client_ip(request))):
                    return super().post(request, *args, **kwargs)
        except limits.LimitUnavailable:
            return self._failed(self.get_form(), status=503, unavailable=True)
        except SourceUnavailable:
            return self._source_unavailable(username)
        record(
            "login",
            target=username,
            outcome=AuditEvent.Outcome.DENIED,
            request=request,
            reason="throttled",
        )
        return self._failed(self.get_form())

    def form_invalid(self, form: Any) -> HttpResponse:
        username = str(form.data.get("username", ""))[:150]
        record(
            "login",
            target=username,
            outcome=AuditEvent.Outcome.FAILURE,
            request=self.request,
            reason="credentials",
        )
        try:
            blocked = limits.record_failure(*login_checks(username, client_ip(self.request)))
            abuse.failed(self.request, account=account_key(username))
        except limits.LimitUnavailable:
            return self._failed(form, status=503, unavailable=True)
        if blocked:
            metrics.LOCKOUTS.labels(kind="login").inc()
            locked = User.objects.filter(username=username, is_active=True).first()
            if locked is not None:
                notices.account_locked(locked, seconds=blocked, meta=request_meta(self.request))
            record(
                "login.throttled",
                target=username,
                outcome=AuditEvent.Outcome.DENIED,
                request=self.request,
                seconds=blocked,
            )
        return self._failed(form)

    def form_valid(self, form: Any) -> HttpResponse:
        user = form.get_user()
        try:
            limits.reset(LOGIN_PER_ACCOUNT, form.cleaned_data["username"])
        except limits.LimitUnavailable:
            return self._failed(form, status=503, unavailable=True)
        step = second_step(self.request, user, self.get_redirect_url())
        if step is not None:
            return HttpResponseRedirect(step)
        response = super().form_valid(form)
        record_login(self.request, amr=["pwd"], acr=ACR_PASSWORD)
        record("login", actor=user.get_username(), request=self.request, amr=["pwd"])
        return response

    def _failed(self, form: Any, *, status: int = 200, unavailable: bool = False) -> HttpResponse:
        context = self.get_context_data(form=form, login_failed=True, unavailable=unavailable)
        response = self.render_to_response(context, status=status)
        if unavailable:
            response["Retry-After"] = "30"
        return response

    def _source_unavailable(self, username: str) -> HttpResponse:
        """A directory that would check this password cannot be reached: not a wrong password
        (nothing counted), a 503 saying so; local accounts are unaffected."""
        record(
            "login",
            target=username,
            outcome=AuditEvent.Outcome.FAILURE,
            request=self.request,
            reason="directory_unreachable",
        )
        context = self.get_context_data(form=self.get_form(), directory_unreachable=True)
        response = self.render_to_response(context, status=503)
        response["Retry-After"] = "30"
        return response

    def _ip_blocked(self, seconds: int) -> HttpResponse:
        context = self.get_context_data(
            form=self.get_form(), ip_blocked=True, wait=abuse.wait_text(seconds)
        )
        response = self.render_to_response(context, status=429)
        response["Retry-After"] = str(seconds)
        return response


class LogoutView(auth_views.LogoutView):
    """Django's logout; a session signed in through an upstream provider then goes on to the
    upstream's own logout (``accounts.upstream.logout_targets``)."""

    template_name = "registration/logged_out.html"

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        target = upstream.logout_target(request) if request.user.is_authenticated else None
        response = super().post(request, *args, **kwargs)
        return HttpResponseRedirect(target) if target else response
