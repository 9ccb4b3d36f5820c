"""The oauthlib server DOT drives: per-client access-token lifetimes."""

from __future__ import annotations

from typing import Any

from oauthlib.openid import Server as OpenIDServer

from oauth.tokens import access_token_lifetime


class Server(OpenIDServer):
    def __init__(self, request_validator: Any, *args: Any, **kwargs: Any) -> None:
        kwargs["token_expires_in"] = access_token_lifetime
        super().__init__(request_validator, *args, **kwargs)
