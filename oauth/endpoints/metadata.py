"""The published key set (JWKS) and the two discovery documents (RFC 8414, OIDC Discovery)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse

from oauth import dpop, extensions, keys, server
from oauth.models import GRANT_TYPES, MTLS_AUTH_METHODS, TLS_CLIENT_AUTH


def jwks(request: HttpRequest) -> JsonResponse:
    return JsonResponse(keys.jwks(), headers={"Cache-Control": "public, max-age=300"})


def mtls_methods() -> list[str]:
    """The mutual-TLS client authentication methods (RFC 8705 §2) this deployment offers:
    ``tls_client_auth`` needs ``TLS_CLIENT_CA_FILE``."""
    return [m for m in MTLS_AUTH_METHODS if m != TLS_CLIENT_AUTH or settings.TLS_CLIENT_CA_FILE]


def mtls_endpoint_aliases() -> dict[str, str]:
    """RFC 8705 §5: where a client presenting its certificate sends its requests,
    ``MTLS_BASE_URL`` (a host asking for client certificates), by default the issuer itself."""
    base = settings.MTLS_BASE_URL or settings.ISSUER_URL
    return {
        "token_endpoint": f"{base}/o/token/",
        "introspection_endpoint": f"{base}/o/introspect/",
        "revocation_endpoint": f"{base}/o/revoke_token/",
        "device_authorization_endpoint": f"{base}/o/device-authorization/",
        "pushed_authorization_request_endpoint": f"{base}/o/par/",
        "userinfo_endpoint": f"{base}/o/userinfo/",
    }


def _endpoints() -> dict[str, Any]:
    base = settings.ISSUER_URL
    mtls = mtls_methods()
    return {
        "issuer": base,
        "authorization_endpoint": f"{base}/o/authorize/",
        "token_endpoint": f"{base}/o/token/",
        "jwks_uri": f"{base}/o/jwks/",
        "introspection_endpoint": f"{base}/o/introspect/",
        "revocation_endpoint": f"{base}/o/revoke_token/",
        "device_authorization_endpoint": f"{base}/o/device-authorization/",
        "pushed_authorization_request_endpoint": f"{base}/o/par/",
        "require_pushed_authorization_requests": settings.REQUIRE_PUSHED_AUTHORIZATION_REQUESTS,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": [*GRANT_TYPES, *server.extension_grants],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": list(settings.OIDC_SCOPES),
        "token_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
            *mtls,
            "none",
        ],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "PS256", "ES256"],
        "introspection_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            *mtls,
        ],
        "revocation_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            *mtls,
            "none",
        ],
        "tls_client_certificate_bound_access_tokens": True,
        "mtls_endpoint_aliases": mtls_endpoint_aliases(),
        "authorization_response_iss_parameter_supported": True,
        "dpop_signing_alg_values_supported": list(dpop.ALGORITHMS),
        # The languages of the sign-in, consent and device pages (``ui_locales`` picks one).
        "ui_locales_supported": [code for code, _name in settings.LANGUAGES],
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
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
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
        "request_parameter_supported": True,
        "request_object_signing_alg_values_supported": ["RS256", "PS256", "ES256"],
        "request_uri_parameter_supported": False,
    }
    return JsonResponse(document, headers={"Cache-Control": "public, max-age=300"})
