"""Sign-in and sign-out pages (server-rendered, CSRF-protected)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.contrib.auth import views as auth_views
from django.http import HttpResponse

from accounts.session import record_login


class LoginView(auth_views.LoginView):
    """Django's login view; the error never says whether the account exists (same message,
    and Django's ModelBackend hashes a dummy password for unknown users to equalise timing)."""

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

    def form_valid(self, form) -> HttpResponse:  # noqa: ANN001
        response = super().form_valid(form)
        record_login(self.request, amr=["pwd"], acr="1")
        return response


class LogoutView(auth_views.LogoutView):
    template_name = "registration/logged_out.html"
