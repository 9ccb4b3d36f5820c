"""How roles reach tokens and introspection, registered on oauth's extension points in
``RolesConfig.ready()`` (oauth itself never imports roles on its hot paths)."""

from __future__ import annotations

from typing import Any

from oauth.introspection import ActiveToken
from oauth.models import Client
from roles import decisions, selectors


def access_token_claims(request: Any) -> dict[str, Any]:
    """``oauth.tokens.claim_providers``: effective ``roles`` of the user, or of the client for
    a client-credentials token."""
    user = getattr(request, "user", None)
    if user is not None:
        grant = selectors.user_grant(user.pk)
    else:
        grant = selectors.client_grant(request.client)
    return {"roles": sorted(grant.roles)}


def introspection_members(active: ActiveToken, caller: Client) -> dict[str, Any]:
    """``oauth.introspection.enrichers``: effective ``roles`` and ``permissions``, sorted.

    A user's token (the row names a user) resolves the user ``sub``; a client's own token
    resolves its client, so a numeric client_id can never borrow a user's roles."""
    grant = decisions.grant_of_token(active)
    return {"roles": sorted(grant.roles), "permissions": sorted(grant.permissions.strings)}
