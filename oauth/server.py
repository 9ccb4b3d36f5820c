"""The oauthlib server DOT drives: per-client access-token lifetimes, extension grants."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from oauthlib.oauth2.rfc6749.grant_types.base import GrantTypeBase
from oauthlib.openid import Server as OpenIDServer

from oauth.tokens import access_token_lifetime

# Extension grants (RFC 6749 §4.5) by grant_type URI: factories (request validator) -> grant,
# registered by other apps' ready() (API keys: RFC 8693 token exchange).
extension_grants: dict[str, Callable[[Any], GrantTypeBase]] = {}


class Server(OpenIDServer):
    def __init__(self, request_validator: Any, *args: Any, **kwargs: Any) -> None:
        kwargs["token_expires_in"] = access_token_lifetime
        super().__init__(request_validator, *args, **kwargs)
        for grant_type, factory in extension_grants.items():
            self.grant_types[grant_type] = factory(request_validator)
