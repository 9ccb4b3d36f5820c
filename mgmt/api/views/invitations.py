"""Invitations (``selfservice.invitations``): list, invite an address with roles and groups,
resend, revoke. ``users:read`` to read, ``users:write`` to write (an invitation makes a user),
and the hierarchy guard over the roles and groups handed out (a group's: the one of its member
changes); inviting needs a fresh second factor like every
privilege-handing change."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from mgmt.api.views.base import ManagementApi, NoInput, StrictSerializer, validated
from roles import access
from selfservice import invitations
from selfservice.models import Invitation

STATUSES = ["pending", "accepted", "revoked", "expired"]


class InvitationOutput(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    roles = serializers.ListField(child=serializers.CharField())
    groups = serializers.ListField(child=serializers.CharField())
    invited_by = serializers.CharField()
    created = serializers.DateTimeField()
    sent = serializers.DateTimeField(help_text="When the current link was sent.")
    expires = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=STATUSES)
    username = serializers.CharField(allow_null=True, help_text="The account, once accepted.")


def present(invitation: Invitation) -> dict[str, Any]:
    return InvitationOutput(
        {
            "id": invitation.pk,
            "email": invitation.email,
            "roles": sorted(role.name for role in invitation.roles.all()),
            "groups": sorted(group.name for group in invitation.groups.all()),
            "invited_by": invitation.invited_by,
            "created": invitation.created_at,
            "sent": invitation.sent_at,
            "expires": invitation.expires_at,
            "status": invitation.status(timezone.now()),
            "username": invitation.user.username if invitation.user else None,
        }
    ).data


class InvitationsBaseApi(ManagementApi):
    read_permission = access.USERS_READ
    write_permission = access.USERS_WRITE

    def _invitation(self, invitation_id: int) -> Invitation:
        found = (
            Invitation.objects.select_related("user")
            .prefetch_related("roles", "groups")
            .filter(pk=invitation_id)
            .first()
        )
        if found is None:
            raise access.NotFound("invitation", invitation_id)
        return found


class InvitationsApi(InvitationsBaseApi):
    class InviteInput(StrictSerializer):
        email = serializers.EmailField(max_length=254)
        roles = serializers.ListField(
            child=serializers.CharField(max_length=150), required=False, default=list
        )
        groups = serializers.ListField(
            child=serializers.CharField(max_length=150), required=False, default=list
        )

    @extend_schema(responses=InvitationOutput(many=True))
    def get(self, request: Request) -> Response:
        rows = Invitation.objects.select_related("user").prefetch_related("roles", "groups")
        return self.paginate(rows.order_by("-created_at", "-pk"), present)

    @extend_schema(
        request=InviteInput,
        responses={201: InvitationOutput},
        description="Mails the address a link valid INVITATION_DAYS (7 days).",
    )
    def post(self, request: Request) -> Response:
        data = validated(self.InviteInput, request.data)
        invitation = invitations.invitation_create(actor=self.actor, meta=self.meta, **data)
        return Response(present(self._invitation(invitation.pk)), status=status.HTTP_201_CREATED)


class InvitationApi(InvitationsBaseApi):
    @extend_schema(responses=InvitationOutput)
    def get(self, request: Request, invitation_id: int) -> Response:
        return Response(present(self._invitation(invitation_id)))

    @extend_schema(
        responses={204: None},
        description="Revoke: the link stops working (idempotent; an accepted invitation is "
        "refused with 400).",
    )
    def delete(self, request: Request, invitation_id: int) -> Response:
        validated(NoInput, request.data)
        invitation = self._invitation(invitation_id)
        if invitation.revoked_at is None:
            invitations.invitation_revoke(actor=self.actor, meta=self.meta, invitation=invitation)
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationResendApi(InvitationsBaseApi):
    @extend_schema(
        request=None,
        responses=InvitationOutput,
        description="A new link and expiry (the old link stops working).",
    )
    def post(self, request: Request, invitation_id: int) -> Response:
        validated(NoInput, request.data)
        invitation = self._invitation(invitation_id)
        invitations.invitation_resend(actor=self.actor, meta=self.meta, invitation=invitation)
        return Response(present(self._invitation(invitation_id)))
