"""Housekeeping of expired OAuth state (run by Celery beat, see oauth/tasks.py).

``expired_clear`` removes what no request can use any more: DOT's expired and revoked tokens,
grants and ID tokens (``clear_expired``, which keeps revoked refresh tokens as long as reuse
detection needs them), the revocations of client-credentials tokens and the used client-assertion
``jti``s past their ``exp``, then
our ``AuthContext`` rows nothing can reach:
- never exchanged: its code is gone (expired or deleted) and no token was bound to it;
- exchanged: nothing is left of what it issued, or it is past the absolute refresh lifetime
  measured from the sign-in, after which no token of the family is accepted.
Running it twice deletes nothing the second time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from oauth2_provider.models import clear_expired, get_refresh_token_model

from oauth import clienttokens
from oauth.client_auth import private_key_jwt
from oauth.models import AuthContext

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Cleared:
    auth_contexts: int
    revocations: int
    assertion_jtis: int


def expired_clear(*, now: datetime | None = None) -> Cleared:
    now = now or timezone.now()
    clear_expired()
    code_window = now - timedelta(seconds=settings.AUTHORIZATION_CODE_LIFETIME + 60)
    absolute = now - timedelta(seconds=settings.REFRESH_TOKEN_ABSOLUTE_LIFETIME)
    live_family = Exists(
        get_refresh_token_model().objects.filter(token_family=OuterRef("token_family"))
    )
    unreachable = Q(
        grant__isnull=True,
        first_access_token__isnull=True,
        created_at__lt=code_window,
    ) & (Q(token_family__isnull=True) | ~live_family)
    deleted, _ = AuthContext.objects.filter(unreachable | Q(created_at__lt=absolute)).delete()
    revocations = clienttokens.purge_expired(now)
    jtis = private_key_jwt.purge_expired(now)
    log.info(
        "expired OAuth state cleared; %s sign-in contexts, %s revocations of expired "
        "client tokens and %s used client-assertion jtis deleted",
        deleted,
        revocations,
        jtis,
    )
    return Cleared(auth_contexts=deleted, revocations=revocations, assertion_jtis=jtis)
