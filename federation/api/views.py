"""Upstream identity providers: list, create, read, change, delete (``users:read`` /
``users:write``: a provider decides who signs in as whom; a role mapping also needs the roles'
and the mapped groups' permissions, the hierarchy guard). ``client_secret`` is write-only:
answers say only whether one is set."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from federation import flows, services
from federation.models import IdentityProvider
from mgmt.api.views.base import ManagementApi, NoInput, StrictSerializer, validated
from roles import access


class RuleSerializer(serializers.Serializer):
    claim = serializers.CharField(max_length=255)
    value = serializers.JSONField(help_text="A string, number or true/false.")
    roles = serializers.ListField(child=serializers.CharField(max_length=100))
    groups = serializers.ListField(
        child=serializers.CharField(max_length=100),
        required=False,
        help_text="Local groups joined while the rule matches.",
    )


class ProviderOutput(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=IdentityProvider.Kind.values)
    issuer = serializers.CharField()
    client_id = serializers.CharField()
    has_client_secret = serializers.BooleanField()
    token_endpoint_auth_method = serializers.CharField()
    scopes = serializers.ListField(child=serializers.CharField())
    link_by = serializers.CharField()
    provision = serializers.BooleanField()
    trust_mfa = serializers.BooleanField()
    role_mapping = RuleSerializer(many=True)
    exclusive_clients = serializers.ListField(child=serializers.CharField())
    enabled = serializers.BooleanField()
    redirect_uri = serializers.CharField(help_text="The redirect URI to register upstream.")
    linked_users = serializers.IntegerField()
    created_at = serializers.DateTimeField()


def present(provider: IdentityProvider) -> dict[str, Any]:
    return ProviderOutput(
        {
            **vars(provider),
            "has_client_secret": bool(provider.client_secret_encrypted),
            "redirect_uri": flows.redirect_uri(provider),
            "linked_users": provider.links.count(),
        }
    ).data


class SpecInput(StrictSerializer):
    """The settable fields (the same spec as ``manage.py apply``'s ``identity_providers:``)."""

    name = serializers.CharField(required=False, max_length=100)
    kind = serializers.ChoiceField(choices=IdentityProvider.Kind.values, required=False)
    issuer = serializers.CharField(required=False, allow_blank=True, max_length=500)
    client_id = serializers.CharField(required=False, max_length=255)
    client_secret = serializers.CharField(
        required=False, allow_blank=True, max_length=1000, write_only=True
    )
    token_endpoint_auth_method = serializers.CharField(
        required=False,
        max_length=32,
        help_text="How we authenticate at the upstream's token endpoint: "
        + ", ".join(IdentityProvider.AuthMethod.values),
    )
    scopes = serializers.ListField(
        child=serializers.CharField(max_length=255), required=False, max_length=100
    )
    link_by = serializers.ChoiceField(choices=IdentityProvider.LinkBy.values, required=False)
    provision = serializers.BooleanField(required=False)
    trust_mfa = serializers.BooleanField(required=False)
    role_mapping = serializers.ListField(
        child=serializers.JSONField(), required=False, max_length=100
    )
    exclusive_clients = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, max_length=100
    )
    enabled = serializers.BooleanField(required=False)


class CreateInput(SpecInput):
    slug = serializers.CharField(max_length=50, help_text="Lower-case letters, digits, hyphens.")
    name = serializers.CharField(max_length=100)
    client_id = serializers.CharField(max_length=255)


class ProviderBase(ManagementApi):
    read_permission = access.USERS_READ
    write_permission = access.USERS_WRITE


def _provider(slug: str) -> IdentityProvider:
    provider = IdentityProvider.objects.filter(slug=slug).first()
    if provider is None:
        raise access.NotFound("identity provider", slug)
    return provider


class ProvidersApi(ProviderBase):
    @extend_schema(responses=ProviderOutput(many=True))
    def get(self, request: Request) -> Response:
        return self.paginate(IdentityProvider.objects.order_by("slug"), present)

    @extend_schema(request=CreateInput, responses={201: ProviderOutput})
    def post(self, request: Request) -> Response:
        spec = validated(CreateInput, request.data)
        provider = services.provider_create(actor=self.actor, meta=self.meta, spec=spec)
        return Response(present(provider), status=status.HTTP_201_CREATED)


class ProviderApi(ProviderBase):
    @extend_schema(responses=ProviderOutput)
    def get(self, request: Request, slug: str) -> Response:
        return Response(present(_provider(slug)))

    @extend_schema(request=SpecInput, responses=ProviderOutput)
    def patch(self, request: Request, slug: str) -> Response:
        spec = validated(SpecInput, request.data)
        provider = _provider(slug)
        services.provider_update(actor=self.actor, meta=self.meta, provider=provider, spec=spec)
        return Response(present(provider))

    @extend_schema(
        request=None,
        responses={204: None},
        description="Deletes the provider and its users' links to it (the users stay).",
    )
    def delete(self, request: Request, slug: str) -> Response:
        validated(NoInput, request.data)
        services.provider_delete(actor=self.actor, meta=self.meta, provider=_provider(slug))
        return Response(status=status.HTTP_204_NO_CONTENT)
