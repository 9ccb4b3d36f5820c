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
from dataclasses import dataclass, field
from typing import Any

from accounts import selectors as account_selectors
from accounts.session import MULTI_FACTOR_AMR
from oauth import apis, introspection
from roles import policy, selectors


@dataclass(frozen=True)
class Principal:
    """A resolved subject: who it is (for identity headers) and what it may do."""

    sub: str
    username: str | None
    client_id: str | None
    grant: policy.Grant
    # When the person it acts for last proved a second factor (UNIX time), if it shows one: a
    # console session's last proof, or a user token's ``auth_time`` when its ``amr`` has "mfa".
    factor_time: float | None = None
    # What the audience rules (``oauth.apis``, the management API) read of a bearer credential:
    # an access token's claims (an API key's: no audience, its owner's client); None for a user
    # or client subject.
    claims: dict[str, Any] | None = field(default=None, compare=False, repr=False)

    @property
    def acts_for_person(self) -> bool:
        """A user's token or API key, or a console session; a client's own token or key acts
        for a service (no person to ask for a second factor)."""
        return self.username is not None

    @property
    def audit_name(self) -> str:
        """How the audit log names it: a username, or ``client:<client_id>``."""
        return self.username or f"client:{self.client_id}"


class OverBudget(Exception):
    """A credential resolver's answer for a valid credential over its rate budget."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"over the rate budget for {retry_after} s")
        self.retry_after = retry_after


# Other bearer credentials by prefix: (credential, the holder's address or None when unknown,
# the door it is presented at) -> Principal | None, or OverBudget. API keys register "ask_"
# (apikeys.apps), whose policy is checked the same way at every door (apikeys.policy).
credential_resolvers: dict[str, Callable[[str, str | None, str], Principal | None]] = {}
# Callables (access-token claims) -> the grant the token is limited to, or None when the token
# is not theirs (a token exchanged for an API key keeps the key's grant).
claim_grants: list[Callable[[dict], policy.Grant | None]] = []


def principal_for_token(
    token: str, *, client_ip: str | None = None, surface: str = "authzen"
) -> Principal | None:
    """The subject of an active access token (same checks as introspection) or API key.

    ``client_ip``: the address of the credential's holder, where known (the gateway and the
    management API see it; an AuthZEN caller may state it); an API key with an allow-list is
    refused without it. Raises ``OverBudget`` for a credential over its rate budget.
    """
    for prefix, resolve in credential_resolvers.items():
        if token.startswith(prefix):
            return resolve(token, client_ip, surface)
    return principal_for_access_token(token)


def principal_for_access_token(token: str) -> Principal | None:
    """The subject of an active access token we issued (same checks as introspection)."""
    active = introspection.active_access_token(token)
    if active is None:
        return None
    claims = active.claims
    sub, client_id = str(claims.get("sub", "")), claims.get("client_id")
    return Principal(
        sub, active.username, client_id, grant_of_token(active), factor_time_of(claims), claims
    )


def factor_time_of(claims: dict) -> float | None:
    """When the sign-in behind a token proved a second factor: its ``auth_time`` if its ``amr``
    says "mfa" (RFC 8176), else None (a password-only sign-in, a client's or a key's token)."""
    amr, auth_time = claims.get("amr"), claims.get("auth_time")
    if isinstance(amr, list) and MULTI_FACTOR_AMR in amr and isinstance(auth_time, int):
        return float(auth_time)
    return None


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


def principal_for_subject_token(token: str, ip_address: str | None) -> Principal | None:
    """An AuthZEN ``token`` subject; ``ip_address`` is where its holder is, as the caller
    states it. A credential over its rate budget is nobody (denied)."""
    try:
        return principal_for_token(token, client_ip=ip_address)
    except OverBudget:
        return None


# AuthZEN subject types -> resolvers of (id, the holder's address as the caller states it);
# an unknown type resolves to nobody.
SUBJECT_RESOLVERS: dict[str, Callable[[str, str | None], Principal | None]] = {
    "token": principal_for_subject_token,
    "user": lambda username, _address: principal_for_user(username),
    "client": lambda client_id, _address: principal_for_client(client_id),
}


def principal_for(
    subject_type: str,
    subject_id: str,
    ip_address: str | None = None,
    *,
    caller_client_id: str | None,
) -> Principal | None:
    """The subject, as the calling client ``caller_client_id`` may know it: a bearer credential
    not meant for the caller (``oauth.apis.may_learn``, as at introspection) is nobody."""
    resolver = SUBJECT_RESOLVERS.get(subject_type)
    principal = resolver(subject_id, ip_address) if resolver is not None else None
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
