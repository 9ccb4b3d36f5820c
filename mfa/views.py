"""Server-rendered pages of the second factor; each calls ``mfa.flows`` and renders."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from abuse import guard as abuse
from mfa import conf, flows, passkeys, qr, selectors, services, totp
from mfa.models import Authenticator


def _with_next(name: str, next_url: str | None) -> str:
    url = reverse(name)
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


def _reauthenticate(request: HttpRequest) -> HttpResponse:
    """Send the user through a fresh sign-in (password, then their factor) and back here."""
    return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)


class AuthenticateView(View):
    """The second step of sign-in, and step-up for a signed-in user."""

    template_name = "mfa/authenticate.html"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.subject = flows.challenge_subject(request)
        if self.subject is None:
            return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
        if not selectors.has_factor(self.subject.user):
            return redirect(_with_next("mfa:totp-setup", request.GET.get("next")))
        return super().dispatch(request, *args, **kwargs)

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request)

    def post(self, request: HttpRequest) -> HttpResponse:
        blocked = abuse.refusal(request, where="mfa")
        if blocked:
            wait = abuse.wait_text(blocked)
            error = _("Too many failed sign-ins came from your network. Try again in %(wait)s.") % {
                "wait": wait
            }
            response = self._render(request, error=error, status=429)
            response["Retry-After"] = str(blocked)
            return response
        result = flows.verify_code(request, self.subject, request.POST.get("code", ""))
        if result.ok:
            return HttpResponseRedirect(flows.next_url(request, self.subject))
        return self._render(request, error=result.error, status=result.status)

    def _render(self, request: HttpRequest, error: str = "", status: int = 200) -> HttpResponse:
        context = {
            "error": error,
            "next": request.POST.get("next") or request.GET.get("next", ""),
            "has_totp": selectors.totp_of(self.subject.user) is not None,
            "has_passkey": bool(selectors.passkeys_of(self.subject.user)),
        }
        return render(request, self.template_name, context, status=status)


class TotpSetupView(View):
    """Enrol an authenticator app: QR code and secret, confirmed by one valid code."""

    template_name = "mfa/totp_setup.html"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.subject = flows.challenge_subject(request)
        if self.subject is None or not flows.may_change_factors(request, self.subject):
            return _reauthenticate(request)
        return super().dispatch(request, *args, **kwargs)

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request)

    def post(self, request: HttpRequest) -> HttpResponse:
        if flows.totp_activate(request, self.subject, request.POST.get("code", "")):
            return redirect(_with_next("mfa:recovery-codes", flows.next_url(request, self.subject)))
        error = _("That code does not match. Enter the 6-digit code your app shows now.")
        return self._render(request, error=error)

    def _render(self, request: HttpRequest, error: str = "") -> HttpResponse:
        secret = flows.totp_setup_secret(request)
        uri = totp.provisioning_uri(
            secret, account=self.subject.user.get_username(), issuer=conf.settings.MFA_TOTP_ISSUER
        )
        context = {
            "error": error,
            "secret": secret,
            "qr_data_uri": qr.svg_data_uri(uri),
            "must_enrol": self.subject.must_enrol,
            "next": request.POST.get("next") or request.GET.get("next", ""),
        }
        return render(request, self.template_name, context, status=200)


class SignedInView(View):
    """A page about the signed-in user's own factors; anyone else is sent to sign in."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return _reauthenticate(request)
        self.subject = flows.Subject(request.user, None)
        return super().dispatch(request, *args, **kwargs)


class RecoveryCodesView(SignedInView):
    """Shows a new set of recovery codes once; POST makes a new set (old codes stop working)."""

    template_name = "mfa/recovery_codes.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        stored = selectors.recovery_codes_of(request.user)
        context = {
            "codes": flows.pop_new_recovery_codes(request),
            "remaining": len(stored.data.get("hashes", [])) if stored else 0,
            "next": flows.next_url(request, self.subject),
        }
        response = render(request, self.template_name, context)
        response["Cache-Control"] = "no-store"
        return response

    def post(self, request: HttpRequest) -> HttpResponse:
        if not flows.may_change_factors(request, self.subject):
            return _reauthenticate(request)
        flows.regenerate_recovery_codes(request, request.user)
        return redirect("mfa:recovery-codes")


class ManageView(SignedInView):
    """The user's factors: add an app or a passkey, new recovery codes, remove a factor."""

    template_name = "mfa/manage.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, self.template_name, self._context(request))

    def _context(self, request: HttpRequest) -> dict[str, Any]:
        authenticators = selectors.authenticators_of(request.user)
        return {
            "authenticators": authenticators,
            "has_totp": any(a.type == Authenticator.Type.TOTP for a in authenticators),
            "recovery": next(
                (a for a in authenticators if a.type == Authenticator.Type.RECOVERY_CODES), None
            ),
            "locked_seconds": services.lockout_remaining(user=request.user),
        }

    def post(self, request: HttpRequest) -> HttpResponse:
        """Remove the factor named by ``remove`` (a fresh sign-in with MFA is required)."""
        if not flows.may_change_factors(request, self.subject):
            return _reauthenticate(request)
        pk = request.POST.get("remove", "")
        if not pk.isdigit():
            return redirect("mfa:manage")
        authenticator = get_object_or_404(Authenticator, pk=int(pk), user=request.user)
        if not flows.may_remove(request.user, authenticator):
            context = self._context(request)
            context["error"] = (
                "Your account needs a second factor: add another before removing this one."
            )
            return render(request, self.template_name, context, status=409)
        services.authenticator_delete(authenticator=authenticator, request=request)
        return redirect("mfa:manage")


class PasskeyView(View):
    """JSON endpoints of the WebAuthn ceremonies, driven by ``static/js/passkeys.js``.

    ``begin`` returns the options for the browser; ``finish`` checks the browser's answer and
    returns where to go next. Bad input is a 400 JSON answer, never an error page.
    """

    http_method_names = ["post"]
    step = ""  # register-begin, register-finish, authenticate-begin, authenticate-finish

    def post(self, request: HttpRequest) -> HttpResponse:
        subject = flows.challenge_subject(request)
        registering = self.step.startswith("register")
        if subject is None or (registering and not flows.may_change_factors(request, subject)):
            return JsonResponse({"error": _("Sign in again to continue.")}, status=403)
        if self.step == "register-begin":
            options = flows.passkey_register_options(request, subject)
            return HttpResponse(options, content_type="application/json")
        if self.step == "authenticate-begin":
            options = flows.passkey_authenticate_options(request, subject)
            return HttpResponse(options, content_type="application/json")
        try:
            body = passkeys.parse_json(request.body)
        except passkeys.CeremonyFailed:
            return JsonResponse({"error": _("The request was not understood.")}, status=400)
        credential = body.get("credential")
        if not isinstance(credential, dict):
            return JsonResponse({"error": _("The request was not understood.")}, status=400)
        if registering:
            name = body.get("name") if isinstance(body.get("name"), str) else ""
            ok = flows.passkey_register(request, subject, credential, name)
            done = _with_next("mfa:recovery-codes", flows.next_url(request, subject))
        else:
            ok = flows.passkey_authenticate(request, subject, credential)
            done = flows.next_url(request, subject)
        if not ok:
            return JsonResponse({"error": _("That passkey could not be verified.")}, status=400)
        return JsonResponse({"redirect": done})
