"""What the account page shows that Django's session rows do not keep: who a browser session
belongs to, from where and which device, since when and until when it was last seen."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class BrowserSession(models.Model):
    """One signed-in browser session (the console, the sign-in page apps send people to).

    Bound one-to-one to Django's session row: when that row goes (sign-out, expiry swept by
    ``clearsessions``, the key rotated at the next sign-in) this one goes with it. ``id`` is
    the public name of the session on the account page; the session key never leaves the
    server. ``sid`` is the sign-in's ``accounts.session`` id, which the app sign-ins started
    from it carry (``oauth.AuthContext.sid``)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    session = models.OneToOneField(
        "sessions.Session", on_delete=models.CASCADE, related_name="+", db_index=True
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    sid = models.CharField(max_length=64, blank=True, default="")
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True, default="")
    created_at = models.DateTimeField()
    last_seen = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["user", "-last_seen"])]

    def __str__(self) -> str:
        return f"browser session {self.id}"
