"""How the federation app plugs into the sign-in page, sign-out and the page's CSP.

- ``login_choices`` (``accounts.upstream.sources``): a button per enabled provider; for the
  pending authorization request (the login page's ``next``), ``kc_idp_hint``/``idp_hint``
  naming a provider goes straight to it, and a client listed in a provider's
  ``exclusive_clients`` gets no password form (and goes straight to the provider when only
  one lists it).
- ``upstream_logout`` (``accounts.upstream.logout_targets``): RP-initiated logout at the
  upstream the session signed in with.
- ``form_origins``: origins a page's forms may redirect to (CSP ``form-action``): the
  upstream's logout origin for a session signed in through it (the sign-out form), and the
  providers' authorization origins on the account page (its link forms).
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

from django.http import HttpRequest
from django.urls import reverse

from accounts import upstream as login_page
from federation import flows, selectors, upstream

HINT_PARAMETERS = ("kc_idp_hint", "idp_hint")


def _start_url(slug: str, next_url: str) -> str:
    url = reverse("federation:start", args=[slug])
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


def login_choices(request: HttpRequest, next_url: str) -> login_page.Choices:
    providers = selectors.enabled_providers()
    if not providers:
        return login_page.Choices()
    query = parse_qs(urlsplit(next_url or "").query)
    client_id = query.get("client_id", [""])[0]
    hint = next((query[p][0] for p in HINT_PARAMETERS if query.get(p)), "")
    by_slug = {p.slug: p for p in providers}
    if hint in by_slug:
        return login_page.Choices(go_to=_start_url(hint, next_url))
    exclusive = [p for p in providers if client_id and client_id in p.exclusive_clients]
    shown = exclusive or providers
    buttons = [login_page.Button(p.name, _start_url(p.slug, next_url)) for p in shown]
    if len(exclusive) == 1:
        return login_page.Choices(buttons, True, _start_url(exclusive[0].slug, next_url))
    return login_page.Choices(buttons, hide_password=bool(exclusive))


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def form_origins(request: HttpRequest) -> list[str]:
    if not hasattr(request, "session"):
        return []
    origins = set()
    stored = request.session.get(flows.UPSTREAM)
    if isinstance(stored, dict) and stored.get("logout_origin"):
        origins.add(stored["logout_origin"])
    if request.path == reverse("federation:account"):
        for provider in selectors.enabled_providers():
            try:
                origins.add(_origin(upstream.endpoints(provider).authorization))
            except upstream.UpstreamError:
                continue
    return sorted(origins)


def register() -> None:
    if login_choices not in login_page.sources:
        login_page.sources.append(login_choices)
    if flows.upstream_logout not in login_page.logout_targets:
        login_page.logout_targets.append(flows.upstream_logout)
