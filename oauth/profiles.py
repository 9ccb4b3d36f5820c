"""Security profiles a client can be held to (``Client.profile``).

``fapi2``, the FAPI 2.0 Security Profile (final, 2025): authorization requests only pushed
(PAR, RFC 9126), PKCE S256 (every client here), sender-constrained tokens (DPoP, RFC 9449, or
certificate-bound, RFC 8705), ``private_key_jwt`` or mutual-TLS client authentication,
PS256/ES256 signatures only (client assertions, request objects, DPoP proofs; ID tokens
ES256), ``iss`` in every authorization response
(every client here) and codes living at most 60 s. The client's shape is checked where it is
saved (``oauth.models``); the rules below are asked by the doors that apply them.
"""

from __future__ import annotations

from django.conf import settings

from oauth.models import PROFILE_FAPI2, Client

FAPI2_ALGORITHMS = ("PS256", "ES256")
FAPI2_MAX_CODE_LIFETIME = 60


def is_fapi2(client: Client | None) -> bool:
    return client is not None and client.profile == PROFILE_FAPI2


def requires_pushed_requests(client: Client | None) -> bool:
    return is_fapi2(client) or bool(
        client is not None and client.require_pushed_authorization_requests
    )


def requires_certificate(client: Client | None) -> bool:
    """Its access tokens are bound to its TLS client certificate (RFC 8705 §3)."""
    return bool(client is not None and client.tls_client_certificate_bound_access_tokens)


def requires_dpop(client: Client | None) -> bool:
    """Its token requests need a DPoP proof: registered so, or fapi2 without the other sender
    constraint FAPI 2.0 §5.3.2.2 allows, certificate-bound tokens."""
    if client is None:
        return False
    return client.dpop_bound_access_tokens or (
        is_fapi2(client) and not requires_certificate(client)
    )


def signing_algorithms(client: Client | None, offered: list[str]) -> list[str]:
    """The signature algorithms ``client``'s JWTs (assertions, request objects, DPoP proofs)
    may use, of those ``offered``."""
    if is_fapi2(client):
        return [a for a in offered if a in FAPI2_ALGORITHMS]
    return list(offered)


def code_lifetime_ok() -> bool:
    """FAPI 2.0 §5.3.2.1: authorization codes live at most 60 seconds (the system check)."""
    return settings.AUTHORIZATION_CODE_LIFETIME <= FAPI2_MAX_CODE_LIFETIME
