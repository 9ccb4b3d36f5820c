"""How API keys plug into oauth and roles, registered in ``ApiKeysConfig.ready()``:

- ``oauth.introspection.introspectors["ask_"]``: RFC 7662 introspection of a key;
- ``oauth.validators.revokers``: RFC 7009 revocation of a key by its owning client;
- ``oauth.server.extension_grants``: RFC 8693 token exchange (``apikeys.exchange``);
- ``roles.decisions.credential_resolvers["ask_"]``: a key as a bearer credential (management
  API, gateway, AuthZEN ``token`` subject);
- ``roles.decisions.claim_grants``: a token exchanged for a key keeps the key's grant.

Every door a key is presented at applies its one policy (``apikeys.policy.check``).
"""

from __future__ import annotations

from typing import Any

from apikeys import authentication, credentials, policy, services
from apikeys.authentication import Authenticated
from apikeys.models import ApiKey
from apikeys.selectors import active_owner, key_grant, key_record
from core import clock
from core.actors import SystemActor
from oauth import apis
from oauth.introspection import INACTIVE
from oauth.models import Client
from roles import policy as role_policy
from roles.decisions import OverBudget, Principal


def introspect_key(value: str, caller: Client, holder_ip: str | None) -> dict[str, Any]:
    """RFC 7662 for a key, under its policy (``apikeys.policy``) on every call: a resource
    server asking on the holder's behalf knows the holder's address only if it states it
    (``holder_ip``), and a key over its rate budget is inactive, like an unusable one. A key
    names no audience, so the caller must be a registered API's client or the key's owning
    client (``oauth.apis.may_learn``, as for an audience-less token)."""
    auth = policy.check(value, client_ip=holder_ip, surface="introspection").auth
    if auth is None or not apis.may_learn(caller.client_id, audience_claims(auth)):
        return INACTIVE
    owner = auth.owner
    response: dict[str, Any] = {
        "active": True,
        "token_type": "api_key",
        "sub": owner.sub,
        "iat": int(auth.record.created_at),
    }
    if owner.username is not None:
        response["username"] = owner.username
    else:
        response["client_id"] = owner.client_id
    if auth.valid_until is not None:
        response["exp"] = int(auth.valid_until)
    response["roles"] = sorted(auth.grant.roles)
    response["permissions"] = sorted(auth.grant.permissions.strings)
    return response


def audience_claims(auth: Authenticated) -> dict[str, Any]:
    """What the audience rule (``oauth.apis``) reads of a key: it names no audience, and its
    own client is its owner's."""
    return {"client_id": auth.owner.client_id}


def principal_for_key(value: str, client_ip: str | None, surface: str) -> Principal | None:
    """A key as a bearer credential (``roles.decisions.credential_resolvers``), under its
    policy; ``OverBudget`` when it is over its rate budget."""
    verdict = policy.check(value, client_ip=client_ip, surface=surface)
    if verdict.retry_after is not None:
        raise OverBudget(verdict.retry_after)
    if verdict.auth is None:
        return None
    owner = verdict.auth.owner
    return Principal(
        owner.sub,
        owner.username,
        owner.client_id,
        verdict.auth.grant,
        claims=audience_claims(verdict.auth),
    )


def exchanged_token_grant(claims: dict[str, Any]) -> role_policy.Grant | None:
    """The grant of a token exchanged for a key (its ``api_key`` claim): the key's, now."""
    key_id = claims.get("api_key")
    if key_id is None:
        return None
    record = key_record(key_id) if isinstance(key_id, str) else None
    if record is None or record.revoked_at is not None:
        return role_policy.NO_GRANT
    owner = active_owner(record)
    return key_grant(record, owner) if owner is not None else role_policy.NO_GRANT


def revoke_key(value: str, client: Client | None) -> bool:
    """RFC 7009 for keys: the owning client revokes with the full key. Anything else that looks
    like a key is answered like an unknown token (200, nothing revoked). False: not a key."""
    presented = credentials.parse(value)
    if presented is None:
        return False
    record = key_record(presented.key_id)
    if record is None or client is None or record.client_id != client.client_id:
        return True
    if authentication.secret_validity(record, presented.secret, clock.now())[0]:
        key = ApiKey.objects.filter(pk=record.pk).first()
        if key is not None:
            actor = SystemActor(f"client:{client.client_id}")  # the key's own client
            services.api_key_revoke(key=key, actor=actor, via="rfc7009")
    return True
