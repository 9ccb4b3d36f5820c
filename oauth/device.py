"""The device flow's sign-in context: how the approving user signed in, kept at approval
(``DeviceConfirmView``) for the tokens the device polls for (``hooks.device_pre_token``)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from django.utils import timezone
from oauth2_provider.models import get_device_grant_model
from oauthlib.oauth2.rfc8628.errors import AccessDenied as DeviceAccessDenied

from accounts.session import ACR_MFA
from core.crypto import sha256_hex
from oauth import extensions
from oauth.models import AuthContext, Client


def _device_context_key(device_code: str) -> str:
    return sha256_hex(f"device:{device_code}")


def _presented(request: Any) -> str:
    return str(request._params.get("device_code", ""))


def consume(request: Any) -> bool:
    """End the device code the request polled with, in the transaction that stores its
    tokens (RFC 8628 §3.5: one token response per authorization; node-oidc-provider and
    Keycloak alike): False when it was already gone, so another poll got the tokens."""
    grants = get_device_grant_model().objects.filter(device_code=_presented(request))
    return bool(grants.delete()[0])


def context_key(request: Any) -> str:
    """The key of the sign-in context of the device code the request polled with (what a
    second use revokes: ``oauth.codes.revoke_replayed_code``)."""
    return _device_context_key(_presented(request))


def remember_device_approval(device_code: str, *, user: Any, client: Client, state: dict) -> None:
    """At device approval: keep how the approving user signed in (``accounts.session``
    state), for the tokens the device will poll for."""
    AuthContext.objects.update_or_create(
        code_hash=_device_context_key(device_code),
        defaults={
            "user": user,
            "client": client,
            "auth_time": datetime.fromtimestamp(state.get("auth_time", time.time()), tz=UTC),
            "amr": list(state.get("amr", ["pwd"])),
            "acr": str(state.get("acr", "1")),
            "sid": str(state.get("sid", "")),
        },
    )


def attach_device_context(request: Any) -> Any:
    """OAUTH_PRE_TOKEN_VALIDATION hook: the context saved at approval, else password only;
    no token when MFA is required and the approval did not use it."""
    user = getattr(request, "user", None)
    client = getattr(request, "client", None)
    if user is not None and client is not None:
        request.auth_context = AuthContext.objects.filter(
            code_hash=context_key(request),
            user=user,
            client=client,
        ).first() or AuthContext(
            user=user,
            client=client,
            auth_time=user.last_login or timezone.now(),
            amr=["pwd"],
            acr="1",
        )
        if extensions.second_factor().required(user, client=client) and not (
            request.auth_context.acr == ACR_MFA
        ):
            raise DeviceAccessDenied(
                description="This sign-in requires multi-factor authentication.",
                request=request,
            )
    return request
