"""Callables named in settings, importable before Django's apps are ready (imports deferred)."""

from typing import Any


def device_pre_token(request: Any) -> Any:
    """DOT's OAUTH_PRE_TOKEN_VALIDATION for the device grant: its user, then our context."""
    from oauth2_provider.utils import set_oauthlib_user_to_device_request_user

    from oauth.device import attach_device_context

    set_oauthlib_user_to_device_request_user(request)
    return attach_device_context(request)
