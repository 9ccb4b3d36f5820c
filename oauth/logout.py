"""Where sign-in sessions end, the back-channel logout notices they owe are written in the same
transaction and queued once it commits (``oauth.backchannel``, ``oauth.tasks``)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from accounts.session import auth_state
from oauth import backchannel
from oauth.models import AuthContext
from oauth.tasks import deliver_logout_task


def sessions_ended(contexts: QuerySet[AuthContext]) -> int:
    """Owe and (after commit) send the logout tokens of ``contexts``' sessions; how many."""
    notices = backchannel.sessions_ended(contexts)
    ids = [notice.pk for notice in notices]
    if ids:
        transaction.on_commit(lambda: [deliver_logout_task.delay(pk) for pk in ids])
    return len(ids)


def on_signed_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """``user_logged_out``: the browser session's ``sid`` ends for every client it signed
    into (sent before Django flushes the session, so its sign-in context is still there)."""
    state = auth_state(request) if request is not None else None
    if user is not None and state and state.get("sid"):
        with transaction.atomic():
            sessions_ended(AuthContext.objects.filter(user=user, sid=state["sid"]))
