"""Roles (parents, own and inherited permissions) and role assignments of users and clients."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from mgmt import selectors
from mgmt.api.views.base import ManagementApi, NoInput, StrictSerializer, query, validated
from roles import access
from roles import services as role_services
from roles.models import Assignment, Role


def permission_field() -> serializers.CharField:
    return serializers.CharField(
        max_length=600, help_text="A named permission or an endpoint rule 'METHOD /path'."
    )


def role_name_field() -> serializers.CharField:
    return serializers.CharField(max_length=100)


class RoleOutput(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    require_mfa = serializers.BooleanField()
    parents = serializers.ListField(child=serializers.CharField())
    ancestors = serializers.ListField(
        child=serializers.CharField(), help_text="Every role this one inherits from."
    )
    own_permissions = serializers.ListField(child=serializers.CharField())
    inherited_permissions = serializers.ListField(
        child=serializers.CharField(), help_text="Permissions from ancestors, not held directly."
    )
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


def present_role(role: Role) -> dict[str, Any]:
    view = selectors.role_view(role)
    return RoleOutput(
        {
            **vars(role),
            "parents": view.parents,
            "ancestors": view.ancestors,
            "own_permissions": view.own_permissions,
            "inherited_permissions": view.inherited_permissions,
        }
    ).data


class RoleApi(ManagementApi):
    read_permission = access.ROLES_READ
    write_permission = access.ROLES_WRITE


class RolesApi(RoleApi):
    class FilterInput(StrictSerializer):
        ordering = serializers.ChoiceField(
            choices=selectors.ROLE_ORDERINGS, required=False, default="name"
        )

    class CreateInput(StrictSerializer):
        name = role_name_field()
        description = serializers.CharField(
            required=False, default="", allow_blank=True, max_length=2000
        )
        parents = serializers.ListField(child=role_name_field(), required=False, default=list)
        permissions = serializers.ListField(child=permission_field(), required=False, default=list)
        require_mfa = serializers.BooleanField(required=False, default=False)

    @extend_schema(parameters=[FilterInput], responses=RoleOutput(many=True))
    def get(self, request: Request) -> Response:
        return self.paginate(selectors.role_list(**query(self.FilterInput, request)), present_role)

    @extend_schema(request=CreateInput, responses={201: RoleOutput})
    def post(self, request: Request) -> Response:
        data = validated(self.CreateInput, request.data)
        role = role_services.role_create(actor=self.actor, meta=self.meta, **data)
        return Response(present_role(role), status=status.HTTP_201_CREATED)


class RoleDetailApi(RoleApi):
    class UpdateInput(StrictSerializer):
        description = serializers.CharField(required=False, allow_blank=True, max_length=2000)
        parents = serializers.ListField(child=role_name_field(), required=False)
        permissions = serializers.ListField(child=permission_field(), required=False)
        require_mfa = serializers.BooleanField(required=False)

    class DeleteInput(StrictSerializer):
        force = serializers.BooleanField(
            required=False,
            default=False,
            help_text="Delete even if other roles inherit from it (they lose it as a parent).",
        )

    @extend_schema(responses=RoleOutput)
    def get(self, request: Request, name: str) -> Response:
        return Response(present_role(access.access_role(self.principal, name, for_write=False)))

    @extend_schema(request=UpdateInput, responses=RoleOutput)
    def patch(self, request: Request, name: str) -> Response:
        data = validated(self.UpdateInput, request.data)
        role = access.access_role(self.principal, name, for_write=True)
        role_services.role_update(actor=self.actor, meta=self.meta, role=role, **data)
        return Response(present_role(role))

    @extend_schema(parameters=[DeleteInput], responses={204: None})
    def delete(self, request: Request, name: str) -> Response:
        validated(NoInput, request.data)
        data = query(self.DeleteInput, request)
        role = access.access_role(self.principal, name, for_write=True)
        role_services.role_delete(actor=self.actor, meta=self.meta, role=role, **data)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- assignments ------------------------------------------------------------------------------


class AssignmentOutput(serializers.Serializer):
    role = serializers.CharField(source="role.name")
    expires_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class AssignmentInput(StrictSerializer):
    expires_at = serializers.DateTimeField(
        required=False, allow_null=True, default=None, help_text="Optional; must be in the future."
    )

    def validate_expires_at(self, value: Any) -> Any:
        if value is not None and value <= timezone.now():
            raise serializers.ValidationError("The expiry must be in the future.")
        return value


def present_assignment(assignment: Assignment) -> dict[str, Any]:
    return AssignmentOutput(assignment).data


class _AssignmentsApi(RoleApi):
    """Assignments of one owner (a user or a client), named by the URL kwarg ``owner_kwarg``."""

    owner_kwarg: ClassVar[str]

    def owner(self, key: str, *, for_write: bool) -> Any:
        raise NotImplementedError

    def assignments(self, owner: Any) -> QuerySet:
        raise NotImplementedError

    def set_role(self, owner: Any, role: Role, **changes: Any) -> bool:
        raise NotImplementedError


class _AssignmentListApi(_AssignmentsApi):
    @extend_schema(responses=AssignmentOutput(many=True))
    def get(self, request: Request, **kwargs: str) -> Response:
        owner = self.owner(kwargs[self.owner_kwarg], for_write=False)
        return self.paginate(self.assignments(owner), present_assignment)


class _AssignmentItemApi(_AssignmentsApi):
    """Give the role (``PUT``, idempotent; sets the expiry) or take it away (``DELETE``). The
    caller must hold every permission of the role and of the owner."""

    @extend_schema(
        request=AssignmentInput, responses={200: AssignmentOutput, 201: AssignmentOutput}
    )
    def put(self, request: Request, role: str, **kwargs: str) -> Response:
        data = validated(AssignmentInput, request.data)
        owner = self.owner(kwargs[self.owner_kwarg], for_write=True)
        held = access.access_role(self.principal, role, for_write=False)
        existed = self.set_role(owner, held, **data)
        assignment = self.assignments(owner).get(role=held)
        code = status.HTTP_200_OK if existed else status.HTTP_201_CREATED
        return Response(present_assignment(assignment), status=code)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, role: str, **kwargs: str) -> Response:
        validated(NoInput, request.data)
        owner = self.owner(kwargs[self.owner_kwarg], for_write=True)
        held = access.access_role(self.principal, role, for_write=False)
        self.set_role(owner, held, remove=True)
        return Response(status=status.HTTP_204_NO_CONTENT)


class _UserAssignments(_AssignmentsApi):
    owner_kwarg = "username"

    def owner(self, key: str, *, for_write: bool) -> Any:
        return access.access_user(self.principal, key, for_write=for_write)

    def assignments(self, owner: Any) -> QuerySet:
        return selectors.user_assignments(owner)

    def set_role(self, owner: Any, role: Role, **changes: Any) -> bool:
        return role_services.user_role_set(
            actor=self.actor, meta=self.meta, user=owner, role=role, **changes
        )


class _ClientAssignments(_AssignmentsApi):
    owner_kwarg = "client_id"

    def owner(self, key: str, *, for_write: bool) -> Any:
        return access.access_client(self.principal, key, for_write=for_write)

    def assignments(self, owner: Any) -> QuerySet:
        return selectors.client_assignments(owner)

    def set_role(self, owner: Any, role: Role, **changes: Any) -> bool:
        return role_services.client_role_set(
            actor=self.actor, meta=self.meta, client=owner, role=role, **changes
        )


class UserRolesApi(_UserAssignments, _AssignmentListApi):
    pass


class UserRoleApi(_UserAssignments, _AssignmentItemApi):
    pass


class ClientRolesApi(_ClientAssignments, _AssignmentListApi):
    pass


class ClientRoleApi(_ClientAssignments, _AssignmentItemApi):
    pass
