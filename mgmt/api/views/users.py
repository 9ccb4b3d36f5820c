"""Users: list, create, read, update, delete, disable/enable, set password."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import services as account_services
from accounts.models import User
from mgmt import selectors
from mgmt.api.views.base import ManagementApi, NoInput, StrictSerializer, query, validated
from oauth import services as oauth_services
from roles import access
from roles.selectors import user_groups, user_roles


class UserOutput(serializers.Serializer):
    username = serializers.CharField()
    email = serializers.EmailField(allow_blank=True)
    name = serializers.CharField(allow_blank=True)
    is_active = serializers.BooleanField()
    mfa_required = serializers.BooleanField()
    date_joined = serializers.DateTimeField()
    last_login = serializers.DateTimeField(allow_null=True)
    roles = serializers.ListField(
        child=serializers.CharField(),
        help_text="Effective roles: inherited ones and those of the user's groups included.",
    )
    groups = serializers.ListField(
        child=serializers.CharField(), help_text="The groups the user is a member of."
    )


def present_user(user: User) -> dict[str, Any]:
    groups = sorted(user_groups(user.pk))
    return UserOutput({**vars(user), "roles": user_roles(user), "groups": groups}).data


class UserApi(ManagementApi):
    read_permission = access.USERS_READ
    write_permission = access.USERS_WRITE


class UsersApi(UserApi):
    class FilterInput(StrictSerializer):
        ordering = serializers.ChoiceField(
            choices=selectors.USER_ORDERINGS, required=False, default="username"
        )
        is_active = serializers.BooleanField(required=False, allow_null=True, default=None)
        username = serializers.CharField(
            required=False, max_length=150, help_text="Username prefix."
        )

    class CreateInput(StrictSerializer):
        username = serializers.CharField(max_length=150)
        # No default in the schema (an empty one is not an e-mail address): the service's.
        email = serializers.EmailField(required=False, allow_blank=True)
        name = serializers.CharField(required=False, allow_blank=True, max_length=255)
        password = serializers.CharField(
            required=False, max_length=4096, write_only=True, trim_whitespace=False
        )

    @extend_schema(parameters=[FilterInput], responses=UserOutput(many=True))
    def get(self, request: Request) -> Response:
        return self.paginate(selectors.user_list(**query(self.FilterInput, request)), present_user)

    @extend_schema(request=CreateInput, responses={201: UserOutput})
    def post(self, request: Request) -> Response:
        data = validated(self.CreateInput, request.data)
        user = account_services.user_create(actor=self.actor, meta=self.meta, **data)
        return Response(present_user(user), status=status.HTTP_201_CREATED)


class UserDetailApi(UserApi):
    class UpdateInput(StrictSerializer):
        email = serializers.EmailField(required=False)
        name = serializers.CharField(required=False, max_length=255, allow_blank=True)

    @extend_schema(responses=UserOutput)
    def get(self, request: Request, username: str) -> Response:
        return Response(present_user(access.access_user(self.principal, username, for_write=False)))

    @extend_schema(request=UpdateInput, responses=UserOutput)
    def patch(self, request: Request, username: str) -> Response:
        data = validated(self.UpdateInput, request.data)
        user = access.access_user(self.principal, username, for_write=True)
        account_services.user_update(actor=self.actor, meta=self.meta, user=user, **data)
        return Response(present_user(user))

    @extend_schema(
        request=None,
        responses={204: None},
        description="Deletes the user and everything that is theirs: tokens, refresh tokens, "
        "sign-in sessions, second factors, API keys and role assignments end at once. "
        "Refused for the caller's own account and for anyone holding a permission the caller "
        "does not.",
    )
    def delete(self, request: Request, username: str) -> Response:
        validated(NoInput, request.data)
        user = access.access_user(self.principal, username, for_write=True)
        access.require_not_self(self.principal, user=user)
        account_services.user_delete(actor=self.actor, meta=self.meta, user=user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class UserActiveApi(UserApi):
    """``POST .../disable`` or ``.../enable`` (``active`` is set per route). Disabling ends
    every session and token of the user at once."""

    active: bool = True

    @extend_schema(request=None, responses=UserOutput)
    def post(self, request: Request, username: str) -> Response:
        validated(NoInput, request.data)
        user = access.access_user(self.principal, username, for_write=True)
        oauth_services.user_set_active(
            actor=self.actor, meta=self.meta, user=user, active=self.active
        )
        return Response(present_user(user))


class UserPasswordApi(UserApi):
    class Input(StrictSerializer):
        password = serializers.CharField(max_length=4096, write_only=True, trim_whitespace=False)

    @extend_schema(request=Input, responses={204: None})
    def post(self, request: Request, username: str) -> Response:
        data = validated(self.Input, request.data)
        user = access.access_user(self.principal, username, for_write=True)
        oauth_services.user_set_password(actor=self.actor, meta=self.meta, user=user, **data)
        return Response(status=status.HTTP_204_NO_CONTENT)
