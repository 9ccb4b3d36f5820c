"""The audit log, read-only: filter by actor, event type, target, outcome and time range."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from audit.models import AuditEvent
from mgmt import selectors
from mgmt.api.views.base import ManagementApi, StrictSerializer, query
from roles import access


class AuditEventOutput(serializers.Serializer):
    id = serializers.IntegerField()
    ts = serializers.DateTimeField()
    event = serializers.CharField()
    outcome = serializers.CharField()
    actor = serializers.CharField(allow_blank=True)
    target = serializers.CharField(allow_blank=True)
    client_id = serializers.CharField(allow_blank=True)
    ip = serializers.IPAddressField(allow_null=True)
    user_agent = serializers.CharField(allow_blank=True)
    request_id = serializers.CharField(allow_blank=True)
    data = serializers.DictField(help_text="Event details; secrets are masked at write time.")


def present_event(event: AuditEvent) -> dict[str, Any]:
    return AuditEventOutput(event).data


class AuditApi(ManagementApi):
    read_permission = access.AUDIT_READ
    write_permission = access.AUDIT_READ  # no writes exist; other verbs are 405 after the check


class AuditEventsApi(AuditApi):
    class FilterInput(StrictSerializer):
        actor = serializers.CharField(
            required=False,
            max_length=255,
            help_text="As shown: a username, or a client's id (`automation` finds the events "
            "of `client:automation`; `client:automation` only the client's).",
        )
        event = serializers.CharField(required=False, max_length=64)
        target = serializers.CharField(required=False, max_length=255)
        outcome = serializers.ChoiceField(choices=AuditEvent.Outcome.choices, required=False)
        since = serializers.DateTimeField(required=False, help_text="Inclusive.")
        until = serializers.DateTimeField(required=False, help_text="Exclusive.")

    @extend_schema(
        parameters=[FilterInput],
        responses=AuditEventOutput(many=True),
        description="Newest first.",
    )
    def get(self, request: Request) -> Response:
        return self.paginate(
            selectors.audit_events(**query(self.FilterInput, request)), present_event
        )


class AuditEventApi(AuditApi):
    @extend_schema(responses=AuditEventOutput)
    def get(self, request: Request, event_id: int) -> Response:
        event = selectors.audit_event(event_id)
        if event is None:
            raise access.NotFound("audit event", event_id)
        return Response(present_event(event))
