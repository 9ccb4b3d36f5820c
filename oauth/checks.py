"""The clients' security posture (``manage.py check --deploy``, registered in
``OauthConfig.ready``): W004 access tokens over an hour, W005 an http redirect URI off
loopback, W013 a fapi2 client while codes live over 60 s."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Warning

from core.checks import over_stored_rows
from core.proxy import is_loopback_host
from oauth import profiles
from oauth.models import Client

MAX_ACCESS_TOKEN_LIFETIME = 3600


@over_stored_rows
def client_posture() -> Iterable[Warning]:
    if settings.ACCESS_TOKEN_LIFETIME > MAX_ACCESS_TOKEN_LIFETIME:
        yield Warning(
            f"ACCESS_TOKEN_LIFETIME is {settings.ACCESS_TOKEN_LIFETIME} s (over 1 hour).",
            hint="Keep access tokens short-lived (default 600 s); use refresh tokens.",
            id="authserver.W004",
        )
    for client in Client.objects.all():
        if profiles.is_fapi2(client) and not profiles.code_lifetime_ok():
            yield Warning(
                f"Client {client.client_id!r} is held to FAPI 2.0, but authorization codes live "
                f"{settings.AUTHORIZATION_CODE_LIFETIME} s.",
                hint="FAPI 2.0 §5.3.2.1: set AUTHORIZATION_CODE_LIFETIME to 60 or less.",
                obj=client.client_id,
                id="authserver.W013",
            )
        if (client.access_token_lifetime or 0) > MAX_ACCESS_TOKEN_LIFETIME:
            yield Warning(
                f"Client {client.client_id!r} issues access tokens for "
                f"{client.access_token_lifetime} s (over 1 hour).",
                hint="Lower access_token_lifetime to 3600 or less.",
                obj=client.client_id,
                id="authserver.W004",
            )
        for uri in client.redirect_uris.split():
            parts = urlsplit(uri)
            if parts.scheme == "http" and not is_loopback_host(parts.hostname):
                yield Warning(
                    f"Client {client.client_id!r} has an http redirect URI off loopback: {uri}",
                    hint="Use https, or http://127.0.0.1 / http://[::1] for native apps.",
                    obj=client.client_id,
                    id="authserver.W005",
                )
