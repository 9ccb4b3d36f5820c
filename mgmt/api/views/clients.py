"""OAuth clients: list, create, read, update, delete, rotate the secret (shown once)."""

from __future__ import annotations

import json
from typing import Any

from drf_spectacular.utils import extend_schema
from jwcrypto.common import JWException
from jwcrypto.jwk import JWKSet
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from mgmt import selectors
from mgmt.api.views.base import ManagementApi, NoInput, StrictSerializer, query, validated
from oauth import services as oauth_services
from oauth.models import AUTH_METHODS, GRANT_TYPES, ID_TOKEN_ALGORITHMS, PROFILES, Client
from roles import access


def uri_list() -> serializers.ListField:
    return serializers.ListField(
        child=serializers.CharField(max_length=2000), max_length=50, required=False
    )


class ClientOutput(serializers.Serializer):
    client_id = serializers.CharField()
    name = serializers.CharField(allow_blank=True)
    type = serializers.CharField(source="client_type")
    grant_types = serializers.ListField(child=serializers.CharField())
    redirect_uris = serializers.ListField(child=serializers.CharField())
    post_logout_redirect_uris = serializers.ListField(child=serializers.CharField())
    scopes = serializers.ListField(child=serializers.CharField(), source="allowed_scopes")
    resources = serializers.ListField(
        child=serializers.CharField(),
        help_text="Identifiers of the registered APIs it may obtain tokens for.",
    )
    skip_consent = serializers.BooleanField(source="skip_authorization")
    access_token_lifetime = serializers.IntegerField(allow_null=True)
    token_endpoint_auth_method = serializers.CharField()
    jwks_uri = serializers.CharField(allow_blank=True)
    id_token_signed_response_alg = serializers.CharField()
    require_mfa = serializers.BooleanField()
    require_verified_email = serializers.BooleanField()
    require_pushed_authorization_requests = serializers.BooleanField(
        help_text="Authorization requests only through the pushed request endpoint (RFC 9126)."
    )
    backchannel_logout_uri = serializers.CharField(allow_blank=True)
    backchannel_logout_session_required = serializers.BooleanField()
    dpop_bound_access_tokens = serializers.BooleanField(
        help_text="Every token request needs a DPoP proof (RFC 9449): no bearer tokens."
    )
    tls_client_auth_subject_dn = serializers.CharField(allow_blank=True)
    tls_client_auth_san_dns = serializers.CharField(allow_blank=True)
    tls_client_auth_san_uri = serializers.CharField(allow_blank=True)
    tls_client_auth_san_ip = serializers.CharField(allow_blank=True)
    tls_client_auth_san_email = serializers.CharField(allow_blank=True)
    tls_client_certificate_bound_access_tokens = serializers.BooleanField(
        help_text="Access tokens are bound to the client certificate (RFC 8705 §3)."
    )
    profile = serializers.CharField(allow_blank=True)
    is_active = serializers.BooleanField()
    has_secret = serializers.BooleanField(help_text="The secret itself is never shown again.")
    created = serializers.DateTimeField()
    updated = serializers.DateTimeField()


class ClientWithSecretOutput(ClientOutput):
    client_secret = serializers.CharField(
        allow_null=True, help_text="Shown in this response only; store it now."
    )


def present_client(client: Client, **extra: Any) -> dict[str, Any]:
    fields = {
        **vars(client),
        "redirect_uris": client.redirect_uris.split(),
        "post_logout_redirect_uris": client.post_logout_redirect_uris.split(),
        "has_secret": bool(client.client_secret),
        **extra,
    }
    output = ClientWithSecretOutput if "client_secret" in extra else ClientOutput
    return output(fields).data


class ClientSpecInput(StrictSerializer):
    """The settable fields of a client (the same spec as ``manage.py apply``)."""

    name = serializers.CharField(required=False, max_length=255, allow_blank=True)
    grant_types = serializers.ListField(
        child=serializers.ChoiceField(choices=GRANT_TYPES), required=False, max_length=4
    )
    redirect_uris = uri_list()
    post_logout_redirect_uris = uri_list()
    scopes = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, max_length=100
    )
    resources = serializers.ListField(
        child=serializers.CharField(max_length=255),
        required=False,
        max_length=100,
        help_text="Identifiers of registered APIs (`management`: the management API).",
    )
    skip_consent = serializers.BooleanField(required=False)
    access_token_lifetime = serializers.IntegerField(
        required=False, allow_null=True, min_value=30, max_value=86400
    )
    token_endpoint_auth_method = serializers.ChoiceField(choices=AUTH_METHODS, required=False)
    jwks = serializers.JSONField(required=False, allow_null=True)
    jwks_uri = serializers.URLField(required=False, allow_blank=True, max_length=200)
    id_token_signed_response_alg = serializers.ChoiceField(
        choices=ID_TOKEN_ALGORITHMS, required=False
    )
    require_mfa = serializers.BooleanField(required=False)
    require_verified_email = serializers.BooleanField(required=False)
    require_pushed_authorization_requests = serializers.BooleanField(required=False)
    backchannel_logout_uri = serializers.URLField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="OpenID Connect Back-Channel Logout 1.0: where logout tokens are posted.",
    )
    backchannel_logout_session_required = serializers.BooleanField(required=False)
    dpop_bound_access_tokens = serializers.BooleanField(required=False)
    tls_client_auth_subject_dn = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=500,
        help_text="tls_client_auth (RFC 8705 §2.1.2): the certificate's subject DN (RFC 4514); "
        "set exactly one of it and the four `tls_client_auth_san_*` fields.",
    )
    tls_client_auth_san_dns = serializers.CharField(
        required=False, allow_blank=True, max_length=253
    )
    tls_client_auth_san_uri = serializers.CharField(
        required=False, allow_blank=True, max_length=500
    )
    tls_client_auth_san_ip = serializers.CharField(required=False, allow_blank=True, max_length=45)
    tls_client_auth_san_email = serializers.CharField(
        required=False, allow_blank=True, max_length=254
    )
    tls_client_certificate_bound_access_tokens = serializers.BooleanField(required=False)
    profile = serializers.ChoiceField(
        choices=["", *PROFILES],
        required=False,
        help_text="`fapi2`: held to the FAPI 2.0 Security Profile (PAR, DPoP or mTLS, "
        "private_key_jwt or mTLS client authentication, PS256/ES256).",
    )
    is_active = serializers.BooleanField(required=False)

    def validate_jwks(self, value: Any) -> Any:
        if value is None:
            return value
        try:
            JWKSet.from_json(json.dumps(value))
        except (JWException, ValueError, TypeError, KeyError, AttributeError):
            raise serializers.ValidationError("Not a JSON Web Key Set (RFC 7517 §5).") from None
        return value


class ClientApi(ManagementApi):
    read_permission = access.CLIENTS_READ
    write_permission = access.CLIENTS_WRITE


class ClientsApi(ClientApi):
    class FilterInput(StrictSerializer):
        ordering = serializers.ChoiceField(
            choices=selectors.CLIENT_ORDERINGS, required=False, default="client_id"
        )
        is_active = serializers.BooleanField(required=False, allow_null=True, default=None)

    class CreateInput(ClientSpecInput):
        client_id = serializers.RegexField(
            r"^[A-Za-z0-9._~-]{1,100}$", required=False, help_text="Generated when omitted."
        )
        type = serializers.ChoiceField(
            choices=[Client.CLIENT_CONFIDENTIAL, Client.CLIENT_PUBLIC],
            default=Client.CLIENT_CONFIDENTIAL,
        )

    @extend_schema(parameters=[FilterInput], responses=ClientOutput(many=True))
    def get(self, request: Request) -> Response:
        clients = selectors.client_list(**query(self.FilterInput, request))
        return self.paginate(clients, present_client)

    @extend_schema(request=CreateInput, responses={201: ClientWithSecretOutput})
    def post(self, request: Request) -> Response:
        spec = validated(self.CreateInput, request.data)
        client, secret = oauth_services.client_create(actor=self.actor, meta=self.meta, spec=spec)
        return Response(
            present_client(client, client_secret=secret), status=status.HTTP_201_CREATED
        )


class ClientDetailApi(ClientApi):
    @extend_schema(responses=ClientOutput)
    def get(self, request: Request, client_id: str) -> Response:
        client = access.access_client(self.principal, client_id, for_write=False)
        return Response(present_client(client))

    @extend_schema(
        request=ClientSpecInput,
        responses=ClientWithSecretOutput,
        description="`client_secret` is set (once) when the change made a new secret necessary.",
    )
    def patch(self, request: Request, client_id: str) -> Response:
        spec = validated(ClientSpecInput, request.data)
        client = access.access_client(self.principal, client_id, for_write=True)
        _, secret = oauth_services.client_update(
            actor=self.actor, meta=self.meta, client=client, spec=spec
        )
        return Response(present_client(client, client_secret=secret))

    @extend_schema(
        request=None,
        responses={204: None},
        description="Deletes the client and everything issued to it: its tokens (those "
        "without a row too), refresh tokens, API keys and role assignments end at once. "
        "Refused while a registered API names it as its client, and for the client of the "
        "caller's own credential.",
    )
    def delete(self, request: Request, client_id: str) -> Response:
        validated(NoInput, request.data)
        client = access.access_client(self.principal, client_id, for_write=True)
        access.require_not_self(self.principal, client=client)
        oauth_services.client_delete(actor=self.actor, meta=self.meta, client=client)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ClientSecretApi(ClientApi):
    class Output(serializers.Serializer):
        client_id = serializers.CharField()
        client_secret = serializers.CharField(help_text="Shown in this response only.")

    @extend_schema(request=None, responses=Output)
    def post(self, request: Request, client_id: str) -> Response:
        validated(NoInput, request.data)
        client = access.access_client(self.principal, client_id, for_write=True)
        secret = oauth_services.client_rotate_secret(
            actor=self.actor, meta=self.meta, client=client
        )
        return Response(self.Output({"client_id": client.client_id, "client_secret": secret}).data)
