"""The one place access decisions are made: who the subject is, then what its roles allow.

Used by the AuthZEN endpoints (``roles.views``), token claims and introspection
(``roles.hooks``), and meant for the gateway endpoint (issue 9):
``evaluate(principal_for_token(bearer), method, "route", path)``.
An unknown, inactive or unresolvable subject is ``None`` and ``evaluate`` denies it, so callers
never learn why. A bearer credential (token or API key) resolves for a caller only when it is
meant for that caller (``oauth.apis``: ``may_learn`` for AuthZEN, ``meant_for`` at the gateway).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from accounts import selectors as account_selectors
from oauth import apis, introspection
from roles import policy, selectors


@dataclass(frozen=True)
class Principal:
    """A resolved subject: who it is (for identity headers) and what it may do."""

    sub: str
    username: str | None
    client_id: str | None
    grant: policy.Grant
    # what the audience rule (``oauth.apis``) reads of a bearer credential: an access token's
    # claims (an API key's: no audience, its owner's client); None for a user or client subject
    claims: dict[str, Any] | None = None


# Other bearer credentials by prefix: (credential, presented directly by its holder?, the
# holder's address) -> Principal | None. API keys register "ask_" (apikeys.apps).
credential_resolvers: dict[str, Callable[[str, bool, str | None], Principal | None]] = {}
# Callables (access-token claims) -> the grant the token is limited to, or None when the token
# is not theirs (a token exchanged for an API key keeps the key's grant).
claim_grants: list[Callable[[dict], policy.Grant | None]] = []


def principal_for_token(
    token: str, *, direct: bool = False, client_ip: str | None = None
) -> Principal | None:
    """The subject of an active access token (same checks as introspection) or API key.

    ``direct``: the credential was presented to us by its holder from ``client_ip`` (the
    gateway), so an API key's source allow-list applies; AuthZEN subjects are not.
    """
    for prefix, resolve in credential_resolvers.items():
        if token.startswith(prefix):
            return resolve(token, direct, client_ip)
    return principal_for_access_token(token)


def principal_for_access_token(token: str) -> Principal | None:
    """The subject of an active access token we issued (same checks as introspection)."""
    active = introspection.active_access_token(token)
    if active is None:
        return None
    claims = active.claims
    sub, client_id = str(claims.get("sub", "")), claims.get("client_id")
    return Principal(sub, active.username, client_id, grant_of_token(active), claims)


def principal_for_user(username: str) -> Principal | None:
    user_id = account_selectors.active_user_id(username)
    if user_id is None:
        return None
    return Principal(str(user_id), username, None, selectors.user_grant(user_id))


def principal_for_client(client_id: str) -> Principal | None:
    grant = selectors.client_grant_by_id(client_id)
    if grant is None:
        return None
    return Principal(client_id, None, client_id, grant)


# AuthZEN subject types -> resolvers (an unknown type resolves to nobody).
SUBJECT_RESOLVERS: dict[str, Callable[[str], Principal | None]] = {
    "token": principal_for_token,
    "user": principal_for_user,
    "client": principal_for_client,
}


def principal_for(
    subject_type: str, subject_id: str, *, caller_client_id: str | None
) -> Principal | None:
    """The subject, as the calling client ``caller_client_id`` may know it: a bearer credential
    not meant for the caller (``oauth.apis.may_learn``, as at introspection) is nobody."""
    resolver = SUBJECT_RESOLVERS.get(subject_type)
    principal = resolver(subject_id) if resolver is not None else None
    if principal is None or principal.claims is None:
        return principal
    return principal if apis.may_learn(caller_client_id, principal.claims) else None


def evaluate(
    principal: Principal | None, action: str, resource_type: str, resource_id: str
) -> bool:
    """Permit iff the principal exists and its effective permissions allow the action."""
    if principal is None:
        return False
    return policy.decide(
        principal.grant, action=action, resource_type=resource_type, resource_id=resource_id
    )


def grant_of_token(active: introspection.ActiveToken) -> policy.Grant:
    """The grant of an active access token's subject: what a registered ``claim_grants``
    says (a token exchanged for an API key keeps the key's grant), else the client for a
    client's own token (its row names no user), else the user ``sub``."""
    for grant_of in claim_grants:
        grant = grant_of(active.claims)
        if grant is not None:
            return grant
    if active.username is None:
        return selectors.client_grant_by_id(active.claims.get("client_id")) or policy.NO_GRANT
    return selectors.user_grant(active.claims.get("sub"))
