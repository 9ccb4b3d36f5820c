"""A user's live access tokens and sign-in sessions (token families), and a client's own
(client-credentials) tokens: list, read, revoke.

A token or session is looked up *under* its user, so an id that belongs to someone else is
the same 404 as an id that does not exist (OWASP API1). Revoking needs the hierarchy guard on
the user, like any other write to that user.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from oauth2_provider.models import AbstractAccessToken
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from mgmt import selectors
from mgmt.api.views.base import ManagementApi, NoInput, validated
from oauth import services as oauth_services
from oauth.models import AuthContext
from roles import access


class AccessTokenOutput(serializers.Serializer):
    id = serializers.IntegerField()
    client_id = serializers.CharField(source="application.client_id")
    scope = serializers.CharField(allow_blank=True)
    created = serializers.DateTimeField()
    expires = serializers.DateTimeField()


class SessionOutput(serializers.Serializer):
    id = serializers.UUIDField()
    client_id = serializers.CharField(source="client.client_id")
    auth_time = serializers.DateTimeField()
    amr = serializers.ListField(child=serializers.CharField())
    acr = serializers.CharField()
    created_at = serializers.DateTimeField()
    last_refreshed = serializers.DateTimeField(allow_null=True)


class ClientTokenOutput(serializers.Serializer):
    jti = serializers.CharField()
    client_id = serializers.CharField()
    scope = serializers.CharField(allow_blank=True)
    issued = serializers.DateTimeField()
    expires = serializers.DateTimeField()


def present_client_token(token: selectors.ClientToken) -> dict[str, Any]:
    return ClientTokenOutput(token).data


def present_token(token: AbstractAccessToken) -> dict[str, Any]:
    return AccessTokenOutput(token).data


def present_session(session: AuthContext) -> dict[str, Any]:
    return SessionOutput(session).data


class TokenApi(ManagementApi):
    read_permission = access.TOKENS_READ
    write_permission = access.TOKENS_WRITE


class UserTokensApi(TokenApi):
    @extend_schema(responses=AccessTokenOutput(many=True))
    def get(self, request: Request, username: str) -> Response:
        user = access.access_user(self.principal, username, for_write=False)
        return self.paginate(selectors.user_access_tokens(user), present_token)


class UserTokenApi(TokenApi):
    def _token(self, username: str, token_id: int, *, for_write: bool) -> AbstractAccessToken:
        user = access.access_user(self.principal, username, for_write=for_write)
        token = selectors.user_access_token(user, token_id)
        if token is None:
            raise access.NotFound("token", token_id)
        return token

    @extend_schema(responses=AccessTokenOutput)
    def get(self, request: Request, username: str, token_id: int) -> Response:
        return Response(present_token(self._token(username, token_id, for_write=False)))

    @extend_schema(responses={204: None})
    def delete(self, request: Request, username: str, token_id: int) -> Response:
        validated(NoInput, request.data)
        token = self._token(username, token_id, for_write=True)
        oauth_services.access_token_revoke(actor=self.actor, meta=self.meta, token=token)
        return Response(status=status.HTTP_204_NO_CONTENT)


class UserSessionsApi(TokenApi):
    @extend_schema(responses=SessionOutput(many=True))
    def get(self, request: Request, username: str) -> Response:
        user = access.access_user(self.principal, username, for_write=False)
        return self.paginate(selectors.user_sessions(user), present_session)


class UserSessionApi(TokenApi):
    def _session(self, username: str, session_id: uuid.UUID, *, for_write: bool) -> AuthContext:
        user = access.access_user(self.principal, username, for_write=for_write)
        session = selectors.user_session(user, session_id)
        if session is None:
            raise access.NotFound("session", session_id)
        return session

    @extend_schema(responses=SessionOutput)
    def get(self, request: Request, username: str, session_id: uuid.UUID) -> Response:
        return Response(present_session(self._session(username, session_id, for_write=False)))

    @extend_schema(responses={204: None})
    def delete(self, request: Request, username: str, session_id: uuid.UUID) -> Response:
        validated(NoInput, request.data)
        session = self._session(username, session_id, for_write=True)
        oauth_services.session_revoke(
            actor=self.actor,
            meta=self.meta,
            user=session.user,
            family=session.token_family,
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class ClientTokensApi(TokenApi):
    @extend_schema(responses=ClientTokenOutput(many=True))
    def get(self, request: Request, client_id: str) -> Response:
        client = access.access_client(self.principal, client_id, for_write=False)
        tokens = selectors.live_client_tokens(timezone.now(), client.client_id)
        return self.paginate(tokens, present_client_token)


class ClientTokenApi(TokenApi):
    def _token(self, client_id: str, jti: str, *, for_write: bool) -> selectors.ClientToken:
        client = access.access_client(self.principal, client_id, for_write=for_write)
        token = selectors.live_client_token(timezone.now(), jti, client.client_id)
        if token is None:
            raise access.NotFound("token", jti)
        return token

    @extend_schema(responses=ClientTokenOutput)
    def get(self, request: Request, client_id: str, jti: str) -> Response:
        return Response(present_client_token(self._token(client_id, jti, for_write=False)))

    @extend_schema(responses={204: None})
    def delete(self, request: Request, client_id: str, jti: str) -> Response:
        validated(NoInput, request.data)
        token = self._token(client_id, jti, for_write=True)
        oauth_services.client_token_revoke(
            actor=self.actor,
            meta=self.meta,
            jti=token.jti,
            client_id=token.client_id,
            expires=token.expires,
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
