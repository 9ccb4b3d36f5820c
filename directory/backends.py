"""The Django authentication backend that checks passwords against the directories.

It comes after ``ModelBackend`` in ``AUTHENTICATION_BACKENDS``, so the login page, its throttles,
the abuse response and the second factor stay as they are: a wrong directory password is a
failed sign-in like any other. Which directories it asks for a typed username:

- a local user of that name (case-insensitively) linked to a directory: that directory only;
- a local user of that name not linked to any: none (a local account is never the directory's);
- no local user of that name: every enabled directory, in slug order, until one knows it.

When a directory that would have been asked cannot be reached, and none said yes, it raises
``accounts.backends.SourceUnavailable`` (the login page says so; local accounts still sign in).
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from accounts.backends import SourceUnavailable
from accounts.models import User
from core.request_meta import request_meta
from directory import services
from directory.models import Directory, DirectoryLink

log = logging.getLogger(__name__)


def directories_for(username: str) -> list[Directory]:
    local = list(User.objects.filter(username__iexact=username).values_list("pk", flat=True))
    if not local:
        return list(Directory.objects.filter(enabled=True))
    links = DirectoryLink.objects.filter(user__in=local).select_related("directory")
    found = [link.directory for link in links if link.directory.enabled]
    return found if len(links) == len(local) else []


class DirectoryBackend(ModelBackend):
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if not username or not password:
            return None
        unreachable = []
        for directory in directories_for(username):
            from directory import client  # ldap3 loads only where a directory is asked

            try:
                entry = client.authenticate(directory, username, password)
            except client.Unreachable as exc:
                log.warning("directory %s unreachable: %s", directory.slug, exc)
                unreachable.append(directory.slug)
                continue
            if entry is None:
                continue
            user = services.sign_in(directory=directory, entry=entry, meta=request_meta(request))
            return user if user is not None and self.user_can_authenticate(user) else None
        if unreachable:
            raise SourceUnavailable(", ".join(unreachable))
        return None
