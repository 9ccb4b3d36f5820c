"""The one place access decisions are made: who the subject is, then what its roles allow.

Used by the AuthZEN endpoints (``roles.views``), token claims and introspection
(``roles.hooks``), and meant for the gateway endpoint (issue 9):
``evaluate(principal_for_token(bearer), method, "route", path)``.
An unknown, inactive or unresolvable subject is ``None`` and ``evaluate`` denies it, so callers
never learn why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from oauth import introspection
from roles import policy, selectors


@dataclass(frozen=True)
class Principal:
    """A resolved subject: who it is (for identity headers) and what it may do."""

    sub: str
    username: str | None
    client_id: str | None
    grant: policy.Grant


def principal_for_token(token: str) -> Principal | None:
    """The subject of an active access token (same checks as introspection).

    API keys (issue 6) are recognised here too, by their prefix, before the JWT lookup.
    """
    active = introspection.active_access_token(token)
    if active is None:
        return None
    claims = active.claims
    sub, client_id = str(claims.get("sub", "")), claims.get("client_id")
    if active.username is not None:
        return Principal(sub, active.username, client_id, selectors.user_grant(sub))
    return principal_for_client(sub)


def principal_for_user(username: str) -> Principal | None:
    user_id = selectors.active_user_id(username)
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


def principal_for(subject_type: str, subject_id: str) -> Principal | None:
    resolver = SUBJECT_RESOLVERS.get(subject_type)
    return resolver(subject_id) if resolver is not None else None


def evaluate(
    principal: Principal | None, action: str, resource_type: str, resource_id: str
) -> bool:
    """Permit iff the principal exists and its effective permissions allow the action."""
    if principal is None:
        return False
    return policy.decide(
        principal.grant, action=action, resource_type=resource_type, resource_id=resource_id
    )
