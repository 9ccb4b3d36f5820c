"""Groups (issue 20): list, create, read, update (name, description, parents, roles), delete,
and their members. Reads need ``groups:read``, writes ``groups:write``; what a group gives is
behind the hierarchy guard (``roles.access.require_group_write``, the services' own guard)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from mgmt import selectors
from mgmt.api.views.base import ManagementApi, NoInput, StrictSerializer, query, validated
from mgmt.api.views.roles import role_name_field
from roles import access, group_services
from roles.models import Group


class GroupOutput(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    parents = serializers.ListField(child=serializers.CharField())
    ancestors = serializers.ListField(
        child=serializers.CharField(), help_text="Every group this one is inside."
    )
    roles = serializers.ListField(child=serializers.CharField(), help_text="Its own roles.")
    effective_roles = serializers.ListField(
        child=serializers.CharField(),
        help_text="What a member holds through it: its roles and its ancestors', inherited "
        "roles included.",
    )
    members = serializers.IntegerField(help_text="How many users are members.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class MemberOutput(serializers.Serializer):
    username = serializers.CharField()
    name = serializers.CharField(allow_blank=True)
    is_active = serializers.BooleanField()


def present_group(group: Group) -> dict[str, Any]:
    view = selectors.group_view(group)
    return GroupOutput({**vars(group), **vars(view)}).data


def present_member(user: Any) -> dict[str, Any]:
    return MemberOutput(user).data


def group_name_field(**kwargs: Any) -> serializers.CharField:
    return serializers.CharField(max_length=100, **kwargs)


class GroupApi(ManagementApi):
    read_permission = access.GROUPS_READ
    write_permission = access.GROUPS_WRITE


class GroupsApi(GroupApi):
    class FilterInput(StrictSerializer):
        ordering = serializers.ChoiceField(
            choices=selectors.GROUP_ORDERINGS, required=False, default="name"
        )
        name = serializers.CharField(
            required=False, max_length=100, help_text="Part of the name (any case)."
        )

    class CreateInput(StrictSerializer):
        name = group_name_field()
        description = serializers.CharField(
            required=False, default="", allow_blank=True, max_length=2000
        )
        parents = serializers.ListField(child=group_name_field(), required=False, default=list)
        roles = serializers.ListField(child=role_name_field(), required=False, default=list)

    @extend_schema(parameters=[FilterInput], responses=GroupOutput(many=True))
    def get(self, request: Request) -> Response:
        groups = selectors.group_list(**query(self.FilterInput, request))
        return self.paginate(groups, present_group)

    @extend_schema(request=CreateInput, responses={201: GroupOutput})
    def post(self, request: Request) -> Response:
        data = validated(self.CreateInput, request.data)
        group = group_services.group_create(actor=self.actor, meta=self.meta, **data)
        return Response(present_group(group), status=status.HTTP_201_CREATED)


class GroupDetailApi(GroupApi):
    class UpdateInput(StrictSerializer):
        name = group_name_field(required=False)
        description = serializers.CharField(required=False, allow_blank=True, max_length=2000)
        parents = serializers.ListField(child=group_name_field(), required=False)
        roles = serializers.ListField(child=role_name_field(), required=False)

    @extend_schema(responses=GroupOutput)
    def get(self, request: Request, name: str) -> Response:
        return Response(present_group(access.access_group(self.principal, name, for_write=False)))

    @extend_schema(request=UpdateInput, responses=GroupOutput)
    def patch(self, request: Request, name: str) -> Response:
        data = validated(self.UpdateInput, request.data)
        group = access.access_group(self.principal, name, for_write=True)
        group_services.group_update(actor=self.actor, meta=self.meta, group=group, **data)
        return Response(present_group(group))

    @extend_schema(responses={204: None})
    def delete(self, request: Request, name: str) -> Response:
        validated(NoInput, request.data)
        group = access.access_group(self.principal, name, for_write=True)
        group_services.group_delete(actor=self.actor, meta=self.meta, group=group)
        return Response(status=status.HTTP_204_NO_CONTENT)


class GroupMembersApi(GroupApi):
    @extend_schema(responses=MemberOutput(many=True))
    def get(self, request: Request, name: str) -> Response:
        group = access.access_group(self.principal, name, for_write=False)
        return self.paginate(selectors.group_members(group), present_member)


class GroupMemberApi(GroupApi):
    """Add a member (``PUT``, idempotent: 201 when added, 200 when already one) or remove one
    (``DELETE``). The caller must hold every permission the group gives and the user holds."""

    @extend_schema(request=NoInput, responses={200: MemberOutput, 201: MemberOutput})
    def put(self, request: Request, name: str, username: str) -> Response:
        validated(NoInput, request.data)
        group = access.access_group(self.principal, name, for_write=True)
        user = access.access_user(self.principal, username, for_write=True)
        existed = group_services.group_member_add(
            actor=self.actor, meta=self.meta, group=group, user=user
        )
        code = status.HTTP_200_OK if existed else status.HTTP_201_CREATED
        return Response(present_member(user), status=code)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, name: str, username: str) -> Response:
        validated(NoInput, request.data)
        group = access.access_group(self.principal, name, for_write=True)
        user = access.access_user(self.principal, username, for_write=True)
        group_services.group_member_remove(actor=self.actor, meta=self.meta, group=group, user=user)
        return Response(status=status.HTTP_204_NO_CONTENT)
