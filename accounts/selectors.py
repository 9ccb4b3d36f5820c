"""Reads of user rows on the hot paths (AuthZEN subjects, the gateway), from a per-process
cache invalidated by the ``users`` generation.

Every save that can change who is active under which name, and every delete, bumps it
(``AccountsConfig.ready``: ``generations.bump_on_change``, so no code path of the application
can forget), and a deactivation is therefore seen by the next request in every process, as before,
without a query. A change made behind the ORM's back (SQL, ``QuerySet.update``) sends no signal:
the cache also empties every minute, so it is seen within that.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_refresh_token_model

from core import generations

GENERATION = "users"
WATCHED_FIELDS = frozenset({"is_active", "username"})
# Saves and deletes through the ORM bump the generation; anything else is seen within a minute.
_users = generations.ProcessCache(GENERATION, max_age=60)


def active_user_id(username: str) -> int | None:
    """The primary key of the active user ``username``, else None."""

    def load() -> int | None:
        row = (
            get_user_model()
            .objects.filter(username=username)
            .values_list("id", "is_active")
            .first()
        )
        return row[0] if row and row[1] else None

    return _users.get(("name", username), load)


def user_state(user_id: int) -> tuple[str, bool] | None:
    """(username, is_active) of the user with primary key ``user_id``, else None."""

    def load() -> tuple[str, bool] | None:
        row = (
            get_user_model()
            .objects.filter(pk=user_id)
            .values_list(get_user_model().USERNAME_FIELD, "is_active")
            .first()
        )
        return (str(row[0]), bool(row[1])) if row else None

    return _users.get(("pk", user_id), load)


def live_token_count(**owner: Any) -> int:
    """Live OAuth tokens (unexpired access tokens, unrevoked refresh tokens) of an owner:
    ``user=`` or ``application=``; what a delete of that owner ends."""
    access = get_access_token_model().objects.filter(expires__gt=timezone.now(), **owner)
    refresh = get_refresh_token_model().objects.filter(revoked__isnull=True, **owner)
    return access.count() + refresh.count()
