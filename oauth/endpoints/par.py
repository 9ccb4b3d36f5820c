"""The pushed authorization request endpoint (RFC 9126 §2): ``POST /o/par/``.

The client authenticates as at the token endpoint (through the same validator: secrets,
``private_key_jwt``, or a public client's ``client_id``), and the request is validated exactly
as the authorization endpoint validates it (oauthlib and our validator: client, redirect URI,
response type, PKCE, scopes, RFC 8707 resources, repeated parameters). A signed request
object (``request``, RFC 9101) is verified and stands for the parameters. A DPoP proof binds
the code to its key (``dpop_jkt``, RFC 9449 §10.1). Failed client authentication counts
against the token endpoint's limits."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views import View
from oauth2_provider.oauth2_backends import get_oauthlib_core
from oauthlib.common import Request
from oauthlib.oauth2.rfc6749.errors import FatalClientError, OAuth2Error

from core.limits import LimitUnavailable
from core.responses import NO_STORE, json_response, oauth_error
from oauth import dpop, par, request_objects
from oauth.client_auth import limits
from oauth.server import repeated_parameters


class PushedAuthorizationView(View):
    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        try:
            wait = limits.ip_blocked(request)
            if wait:
                return _slow_down(wait)
            return self._push(request)
        except LimitUnavailable:
            return oauth_error(
                "temporarily_unavailable", "Try again shortly.", status=503, **{"Retry-After": "5"}
            )

    def _push(self, request: HttpRequest) -> HttpResponse:
        pairs = [(name, value) for name, values in request.POST.lists() for value in values]
        problem = repeated_parameters(name for name, _ in pairs)
        if problem:
            return oauth_error("invalid_request", problem)
        if "request_uri" in request.POST:
            return oauth_error("invalid_request", "A pushed request cannot carry request_uri.")
        core = get_oauthlib_core()
        uri, method, body, headers = core._extract_params(request)
        oauthlib_request = Request(uri, method, body, headers)
        validator = core.server.request_validator
        if validator.client_authentication_required(oauthlib_request):
            authenticated = validator.authenticate_client(oauthlib_request)
        else:
            authenticated = validator.authenticate_client_id(
                oauthlib_request.client_id, oauthlib_request
            )
        if not authenticated:
            wait = limits.token_auth_failed(request)
            if wait:
                return _slow_down(wait)
            return oauth_error(
                "invalid_client",
                "Client authentication failed.",
                status=401,
                **{"WWW-Authenticate": 'Basic realm="authserver"'},
            )
        client = oauthlib_request.client
        if request.POST.get("client_id", client.client_id) != client.client_id:
            return oauth_error("invalid_request", "client_id is not the authenticated client.")
        try:
            pairs = request_objects.expand(pairs, client)
        except request_objects.RequestObjectError as error:
            return oauth_error("invalid_request_object", str(error))
        params = [(k, v) for k, v in pairs if k != "client_id"] + [("client_id", client.client_id)]
        try:
            jkt = dpop.endpoint_proof(request, client)
        except dpop.ProofError as error:
            return dpop.refusal(error)
        if jkt is not None:  # RFC 9449 §10.1: the proof binds the code to its key
            named = dict(params).get("dpop_jkt")
            if named is None:
                params.append(("dpop_jkt", jkt))
            elif named != jkt:
                return oauth_error("invalid_dpop_proof", "dpop_jkt is not the proof's key.")
        authorize = f"{settings.ISSUER_URL}/o/authorize/?{urlencode(params)}"
        try:
            core.server.validate_authorization_request(authorize, "GET", None, headers)
        except OAuth2Error as error:  # FatalClientError included: the JSON answer is the same
            status = error.status_code if isinstance(error, FatalClientError) else 400
            return oauth_error(error.error, error.description or error.error, status=status)
        pushed = par.push(client, params)
        return json_response(
            {"request_uri": pushed.request_uri, "expires_in": settings.PAR_LIFETIME},
            NO_STORE,
            status=201,
        )


def _slow_down(wait: int) -> HttpResponse:
    return oauth_error(
        "slow_down",
        "Too many failed attempts; retry later.",
        status=429,
        **{"Retry-After": str(wait)},
    )
