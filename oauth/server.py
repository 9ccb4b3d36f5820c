"""The oauthlib server DOT drives (per-client access-token lifetimes, extension grants) and
DOT's bridge to it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlencode

from oauth2_provider import oauth2_backends
from oauthlib.common import CaseInsensitiveDict, Request
from oauthlib.oauth2.rfc6749.errors import InvalidRequestError
from oauthlib.oauth2.rfc6749.grant_types.base import GrantTypeBase
from oauthlib.openid import Server as OpenIDServer

from oauth import dpop
from oauth.client_auth import mtls
from oauth.tokens import DPOP_JKT, TLS_X5T, access_token_lifetime

# Extension grants (RFC 6749 §4.5) by grant_type URI: factories (request validator) -> grant,
# registered by other apps' ready() (API keys: RFC 8693 token exchange).
extension_grants: dict[str, Callable[[Any], GrantTypeBase]] = {}


# RFC 6749 §3.1, §3.2: no parameter may be sent more than once, but those that may repeat:
REPEATABLE_PARAMETERS = frozenset({"resource", "audience"})  # RFC 8707 §2, RFC 8693 §2.1


def repeated_parameters(names: Iterable[str]) -> str | None:
    """What an ``invalid_request`` says about parameters of ``names`` (one per value sent) that
    repeat, or None when none does."""
    seen: set[str] = set()
    repeated: set[str] = set()
    for name in names:
        (repeated if name in seen else seen).add(name)
    repeated -= REPEATABLE_PARAMETERS
    return f"Repeated parameter: {', '.join(sorted(repeated))}." if repeated else None


def refuse_repeated_parameters(request: Any) -> dict:
    """oauthlib ``pre_auth`` validator: runs once the client and its redirect URI are known
    (oauthlib itself refuses a repeated ``client_id``, ``redirect_uri``, ``response_type``,
    ``scope`` or ``state`` on its error page), so the error is redirected to the client."""
    problem = repeated_parameters(
        name for name, _ in (request.decoded_body or []) + request.uri_query_params
    )
    if problem:
        raise InvalidRequestError(description=problem, request=request)
    return {}


def refuse_malformed_dpop_jkt(request: Any) -> dict:
    """oauthlib ``pre_auth`` validator: ``dpop_jkt`` (RFC 9449 §10), when sent, is a key
    thumbprint; the code is then bound to that key."""
    jkt = getattr(request, "dpop_jkt", None)
    if jkt is not None and not dpop.JKT.fullmatch(jkt):
        raise InvalidRequestError(
            description="dpop_jkt is not a JWK SHA-256 thumbprint.", request=request
        )
    return {}


class Server(OpenIDServer):
    def __init__(self, request_validator: Any, *args: Any, **kwargs: Any) -> None:
        kwargs["token_expires_in"] = access_token_lifetime
        super().__init__(request_validator, *args, **kwargs)
        # RFC 8707 resources are settled (checked, and for code and refresh grants inherited or
        # narrowed) once a token request is valid, before the token is built: its ``aud`` names
        # them. DOT would settle them only when saving, after the token exists.
        for grant in (
            self.auth_grant,
            self.openid_connect_auth,
            self.refresh_grant,
            self.credentials_grant,
            self.device_code_grant,
        ):
            grant.custom_validators.post_token.append(
                request_validator._check_and_set_request_resource
            )
        # ... and checked at the authorization endpoint too (DOT checks only their syntax there).
        # Token requests' repeated parameters are refused by the token view (every grant,
        # extensions included).
        for grant in (self.auth_grant, self.openid_connect_auth):
            grant.custom_validators.post_auth.append(
                request_validator.validate_authorization_resources
            )
            grant.custom_validators.pre_auth.append(refuse_repeated_parameters)
            grant.custom_validators.pre_auth.append(refuse_malformed_dpop_jkt)
            # codes are stored hashed: the presented one is hashed before any lookup
            grant.custom_validators.pre_token.append(request_validator.digest_presented_code)
        for grant_type, factory in extension_grants.items():
            self.grant_types[grant_type] = factory(request_validator)


_PARAMETERS = Request("")._params  # the parameters an oauthlib request always has (None)


class DecodedRequest(Request):
    """An oauthlib request of what Django has decoded already: text headers and the body's
    parameters as pairs. oauthlib's own constructor converts every header and parameter to
    text again and parses the body it is handed (a tenth of a client-credentials request)."""

    def __init__(
        self, uri: str, http_method: str, pairs: list[tuple[str, str]], headers: dict[str, str]
    ) -> None:
        self.uri = uri
        self.http_method = http_method
        self.headers = CaseInsensitiveDict(headers)
        self.body = self.decoded_body = pairs
        self.oauth_params = []
        self.validator_log = {}
        self._params = {**_PARAMETERS, **dict(self.uri_query_params), **dict(pairs)}


class OAuthLibCore(oauth2_backends.OAuthLibCore):
    """DOT's bridge to oauthlib (``OAUTH2_BACKEND_CLASS``), handing oauthlib only the request
    headers that it, DOT and our validator read, instead of the whole WSGI environ (oauthlib
    copies and decodes each one on every request)."""

    PASSED = frozenset(
        {
            "Authorization",
            "HTTP_AUTHORIZATION",
            "Content-Type",
            "CONTENT_TYPE",
            "Origin",
            "HTTP_ORIGIN",
            "X_DJANGO_OAUTH_TOOLKIT_SECURE",
            "REMOTE_ADDR",  # audit and API-key source addresses
            "HTTP_USER_AGENT",  # audit
            "HTTP_X_REQUEST_ID",  # audit
        }
    )

    def _extract_params(self, request: Any) -> tuple[str, str, list[tuple[str, str]] | str, dict]:
        """DOT url-encodes the form Django has already parsed, and oauthlib decodes it again;
        oauthlib's request takes the pairs themselves (a list of 2-tuples is a body it accepts)
        unless a parameter repeats (RFC 8707 ``resource``): oauthlib turns pairs into a dict,
        which would keep one."""
        body: list[tuple[str, str]] | str = self.extract_body(request)
        if len({key for key, _ in body}) < len(body):
            body = urlencode(body)
        return self._uri(request), request.method, body, self.extract_headers(request)

    def oauthlib_request(self, request: Any) -> Request:
        """The oauthlib request of Django's ``request`` that DOT's endpoints have oauthlib
        build, for the grants answered without oauthlib's endpoint
        (``oauth.client_credentials``): the same URI, headers and parameters (every value of
        a repeated one in its body)."""
        return DecodedRequest(
            self._uri(request),
            request.method,
            self.extract_body(request),
            self.extract_headers(request),
        )

    def _uri(self, request: Any) -> str:
        """DOT's escaping of the query string is skipped when there is none (token requests)."""
        return (
            self._get_escaped_full_path(request)
            if request.META.get("QUERY_STRING")
            else request.path
        )

    def extract_headers(self, request: Any) -> dict[str, Any]:
        """The passed headers, ``Content-Type`` as its media type only: Django has decoded the
        body by its ``charset`` already, and oauthlib's device endpoint compares the header
        with ``application/x-www-form-urlencoded`` exactly (openid-client adds
        ``;charset=UTF-8``). No header reads as an empty one (oauthlib indexes it). The
        thumbprint of a verified DPoP proof (set by the token view, never taken from the
        client's headers) travels as ``DPOP_JKT``, the TLS client certificate as
        ``mtls.CLIENT_CERT``."""
        headers = super().extract_headers(request)
        passed = {name: value for name, value in headers.items() if name in self.PASSED}
        passed["Content-Type"] = passed["CONTENT_TYPE"] = request.content_type or ""
        jkt = getattr(request, "dpop_jkt", None)
        if jkt:
            passed[DPOP_JKT] = jkt
        x5t = getattr(request, "tls_x5t", None)
        if x5t:
            passed[TLS_X5T] = x5t
        passed.update(mtls.headers(request))  # likewise the TLS client certificate
        return passed
