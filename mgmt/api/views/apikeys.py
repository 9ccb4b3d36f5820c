"""API keys of a user or a client (issue 6): list, create (the key is shown once), revoke.

Keys are credentials, so they take the ``tokens:*`` permissions; creating or revoking one is a
write to its owner (the hierarchy guard on the user or client), and a key's roles must be within
the caller's own permissions. A key id under another owner is the same 404 as a missing one.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from apikeys import selectors as key_selectors
from apikeys import services as key_services
from apikeys.models import ApiKey
from mgmt.api.views.base import ManagementApi, NoInput, StrictSerializer, validated
from oauth.models import Client
from roles import access


class ApiKeyOutput(serializers.Serializer):
    key_id = serializers.CharField()
    prefix = serializers.CharField(help_text="What the key starts with; the secret is never shown.")
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    roles = serializers.ListField(child=serializers.CharField())
    expires_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)


class ApiKeyCreatedOutput(ApiKeyOutput):
    key = serializers.CharField(help_text="The full key, in this response only: store it now.")


class ApiKeyInput(StrictSerializer):
    name = serializers.RegexField(r"^[A-Za-z0-9 ._:-]{1,100}$")
    description = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    roles = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, max_length=50
    )
    expires_at = serializers.DateTimeField(required=False, allow_null=True)
    allowed_ips = serializers.ListField(
        child=serializers.CharField(max_length=64), required=False, max_length=50
    )


class KeysApi(ManagementApi):
    read_permission = access.TOKENS_READ
    write_permission = access.TOKENS_WRITE
    owner_kind = "user"  # or "client"

    def owner(self, *, for_write: bool) -> dict[str, AbstractBaseUser | Client]:
        """``{"user": ...}`` or ``{"client": ...}`` from the URL, through the access choke point."""
        if self.owner_kind == "client":
            client_id = self.kwargs["client_id"]
            return {"client": access.access_client(self.principal, client_id, for_write=for_write)}
        username = self.kwargs["username"]
        return {"user": access.access_user(self.principal, username, for_write=for_write)}

    def listed(self, owner: dict[str, Any], key_id: str | None = None) -> list[dict[str, Any]]:
        rows = key_selectors.api_key_list(**owner)
        return [row for row in rows if key_id is None or row["key_id"] == key_id]


class OwnerKeysApi(KeysApi):
    @extend_schema(responses=ApiKeyOutput(many=True))
    def get(self, request: Request, **kwargs: str) -> Response:
        owner = self.owner(for_write=False)
        return self.paginate(self.listed(owner), lambda row: ApiKeyOutput(row).data)

    @extend_schema(request=ApiKeyInput, responses={201: ApiKeyCreatedOutput})
    def post(self, request: Request, **kwargs: str) -> Response:
        owner = self.owner(for_write=True)
        spec = validated(ApiKeyInput, request.data)
        key, full = key_services.api_key_create(actor=self.actor, meta=self.meta, **owner, **spec)
        (row,) = self.listed(owner, key.key_id)
        return Response(
            ApiKeyCreatedOutput({**row, "key": full}).data, status=status.HTTP_201_CREATED
        )


class OwnerKeyApi(KeysApi):
    @extend_schema(responses={204: None})
    def delete(self, request: Request, key_id: str, **kwargs: str) -> Response:
        validated(NoInput, request.data)
        owner = self.owner(for_write=True)
        key = ApiKey.objects.filter(key_id=key_id, **owner).first()
        if key is None:
            raise access.NotFound("API key", key_id)
        key_services.api_key_revoke(actor=self.actor, meta=self.meta, key=key, via="api")
        return Response(status=status.HTTP_204_NO_CONTENT)


class UserApiKeysApi(OwnerKeysApi):
    owner_kind = "user"


class UserApiKeyApi(OwnerKeyApi):
    owner_kind = "user"


class ClientApiKeysApi(OwnerKeysApi):
    owner_kind = "client"


class ClientApiKeyApi(OwnerKeyApi):
    owner_kind = "client"
