"""The token endpoint (DOT's view): transactions per grant, the limits on failed client
authentication, and one ``TokenOutcome`` per answer that the limits, the audit and the metrics
read."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.views import View
from oauth2_provider import views as dot_views
from oauth2_provider.models import get_device_grant_model

from core import tls
from core.limits import LimitUnavailable
from core.responses import NO_STORE, oauth_error
from oauth import client_credentials, dpop, events, profiles, server
from oauth.client_auth import limits, mtls, private_key_jwt
from oauth.client_auth.secret import claimed_client_id
from oauth.models import (
    GRANT_AUTHORIZATION_CODE,
    GRANT_CLIENT_CREDENTIALS,
    GRANT_DEVICE_CODE,
    GRANT_REFRESH_TOKEN,
    GRANT_TYPES,
    Client,
)
from oauth.outcome import TokenOutcome
from oauth.selectors import client_get

# Refresh and code exchange read and sign outside any transaction; what they write (the code
# or refresh token consumed only if still current, the new tokens) is one short transaction in
# ``Validator.save_bearer_token``. On SQLite a transaction holds the database's one write lock
# from its start: around the whole grant it was held through the reads and both signatures,
# so no two refreshes of the server could overlap (issue 18).
WRITE_PHASE_GRANTS = frozenset({GRANT_AUTHORIZATION_CODE, GRANT_REFRESH_TOKEN})


class TokenView(dot_views.TokenView):
    """DOT's token endpoint. The device grant and extension grants run in one transaction;
    refresh and code exchange write in one at the end (``WRITE_PHASE_GRANTS``); client
    credentials write nothing, and skip DOT's and oauthlib's endpoint layers too
    (``oauth.client_credentials``). Mounted through ``machine_view``, so DOT's per-request
    wrappers of ``dispatch`` are skipped."""

    http_method_names = ["post", "options"]
    dispatch = View.dispatch

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        """Count each failed client authentication; once the claimed client or the IP has too
        many, failures are answered 429 ``slow_down`` with ``Retry-After``
        (``oauth.client_auth.limits``). An IP blocked by the abuse response gets that answer for
        every request. Each answer carries its ``TokenOutcome``."""
        try:
            wait = limits.ip_blocked(request)
            if wait:
                return self._refused(
                    request, "slow_down", "Too many failed attempts; retry later.", 429, wait
                )
            response = self._grant(request, *args, **kwargs)
            outcome = TokenOutcome.of(request, response)
            if outcome.client_auth_failed:
                wait = limits.token_auth_failed(request)
                if wait:
                    return self._refused(
                        request,
                        "slow_down",
                        "Too many failed client authentications; retry later.",
                        429,
                        wait,
                    )
            elif outcome.status >= 400:
                events.token_refused(request, outcome, claimed_client_id(request))
        except LimitUnavailable:
            return self._refused(
                request,
                "temporarily_unavailable",
                "The server cannot serve this request right now.",
                503,
                30,
            )
        return outcome.attach(response)

    @staticmethod
    def _refused(
        request: HttpRequest, error: str, description: str, status: int, wait: int
    ) -> HttpResponse:
        """The view's own refusal (limits), with ``Retry-After`` and its outcome."""
        response = oauth_error(error, description, status=status, **{"Retry-After": str(wait)})
        outcome = TokenOutcome(str(request.POST.get("grant_type", "")), status, error)
        return outcome.attach(response)

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
        client = client_get(claimed_client_id(request))
        refusal = _dpop_refusal(request, client) or _certificate_refusal(request, client)
        if refusal is not None:
            return refusal
        private_key_jwt.prefetch_key(request.POST)  # no network wait inside a transaction
        mtls.prefetch_keys(client)
        if grant_type == GRANT_DEVICE_CODE:
            device_code = request.POST.get("device_code", "")
            if not get_device_grant_model().objects.filter(device_code=device_code).exists():
                return oauth_error("invalid_grant", "Unknown or expired device_code.")
            with transaction.atomic():
                response = super().post(request, *args, **kwargs)
        elif grant_type == GRANT_CLIENT_CREDENTIALS:  # no transaction, and no oauthlib endpoint
            core = self.get_oauthlib_core()
            response = _response(*client_credentials.create_token_response(request, core))
        elif grant_type in WRITE_PHASE_GRANTS:  # the validator's save is their transaction
            response = self._token_response(request)
        else:
            with transaction.atomic():
                response = self._token_response(request)
        if response.status_code == 200 and getattr(request, "dpop_jkt", None):
            response.content = json.dumps({**json.loads(response.content), "token_type": "DPoP"})
            if settings.DPOP_NONCE:
                response["DPoP-Nonce"] = dpop.current_nonce()  # the one for the next request
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
        return _response(headers, body, status)


def _response(headers: dict[str, str], body: str, status: int) -> HttpResponse:
    """oauthlib's answer (headers, body, status) as a Django response."""
    response = HttpResponse(body, status=status, content_type="application/json")
    for name, value in headers.items():
        response[name] = value
    return response


def _certificate_refusal(request: HttpRequest, client: Client | None) -> HttpResponse | None:
    """For a client registered with ``tls_client_certificate_bound_access_tokens`` keep the
    thumbprint of the request's client certificate for the token (``request.tls_x5t``, read by
    ``oauth.server.OAuthLibCore``: RFC 8705 §3); without a certificate the request is refused."""
    if not profiles.requires_certificate(client):
        return None
    request.tls_x5t = tls.certificate_thumbprint(request)
    if request.tls_x5t is None:
        return oauth_error(
            "invalid_request",
            "This client's tokens are bound to its TLS client certificate: present one.",
        )
    return None


def _dpop_refusal(request: HttpRequest, client: Client | None) -> HttpResponse | None:
    """Check a DPoP proof (RFC 9449 §4.3) and keep its key's thumbprint for the token
    (``request.dpop_jkt``, read by ``oauth.server.OAuthLibCore``); a client registered with
    ``dpop_bound_access_tokens`` (or the fapi2 profile without certificate-bound tokens) must
    send one."""
    try:
        request.dpop_jkt = dpop.endpoint_proof(request, client)
    except dpop.ProofError as error:
        return dpop.refusal(error)
    if request.dpop_jkt is None and profiles.requires_dpop(client):
        return oauth_error("invalid_dpop_proof", "This client must send a DPoP proof.")
    return None
