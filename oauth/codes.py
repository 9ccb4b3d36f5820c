"""Authorization codes: how one is stored (its keyed hash) and what a replayed one revokes."""

from __future__ import annotations

import logging

from django.db import transaction
from oauth2_provider.models import get_access_token_model, get_refresh_token_model

from core.crypto import keyed_hash
from oauth.models import AuthContext

log = logging.getLogger(__name__)


def code_digest(code: str) -> str:
    """How an authorization code is stored and looked up: its keyed hash (the pepper)."""
    return keyed_hash(code, "authorization-code")


def revoke_replayed_code(digest: str) -> None:
    """RFC 6749 §4.1.2: a code used twice (``digest``: its ``code_digest``) revokes the tokens
    issued from it."""
    context = AuthContext.objects.filter(code_hash=digest).first()
    if context is None:
        return
    log.warning("authorization code replayed; revoking its tokens (client %s)", context.client_id)
    with transaction.atomic():  # every token it gave, or none
        if context.token_family:
            get_refresh_token_model().revoke_family(context.token_family)
        if context.first_access_token_id:
            get_access_token_model().objects.filter(pk=context.first_access_token_id).delete()
