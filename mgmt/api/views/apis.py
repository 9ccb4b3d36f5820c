"""Registered APIs (resource servers): list, register, read, change, delete.

An API's ``identifier`` is the audience of the tokens issued for it, so it is not a path
segment: an API is addressed by its numeric ``id``. Managing APIs takes the client permissions
(``clients:read`` / ``clients:write``): an API is registered for a client, and which clients may
obtain tokens for it is a client setting (``resources``).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from mgmt.api.views.base import ManagementApi, NoInput, StrictSerializer, query, validated
from oauth import api_selectors, api_services
from oauth.api_selectors import ApiUsage
from oauth.api_services import MAX_LIFETIME, MAX_SCOPES
from oauth.apis import audience_of
from oauth.models import Api
from roles import access


class ApiOutput(serializers.Serializer):
    id = serializers.IntegerField()
    identifier = serializers.CharField(help_text="`management` for the built-in management API.")
    audience = serializers.CharField(help_text="The `aud` of the tokens issued for it.")
    name = serializers.CharField()
    client = serializers.CharField(
        allow_null=True, help_text="The client_id whose credentials the API presents."
    )
    scopes = serializers.ListField(child=serializers.CharField())
    access_token_lifetime = serializers.IntegerField(allow_null=True)
    builtin = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    clients = serializers.ListField(
        child=serializers.CharField(), help_text="Clients listing it in their `resources`."
    )
    live_access_tokens = serializers.IntegerField(
        help_text="Unexpired access tokens carrying its audience (client-credentials tokens, "
        "which are not stored, are not counted)."
    )
    live_refresh_tokens = serializers.IntegerField()


def present_api(api: Api, usage: ApiUsage) -> dict[str, Any]:
    fields = {
        **vars(api),
        "audience": audience_of(api.identifier),
        "client": api.client.client_id if api.client is not None else None,
        "clients": list(usage.clients),
        "live_access_tokens": usage.access_tokens,
        "live_refresh_tokens": usage.refresh_tokens,
    }
    return ApiOutput(fields).data


class ApiSpecInput(StrictSerializer):
    """The settable fields of an API (the same spec as ``manage.py apply``'s ``apis:``)."""

    identifier = serializers.CharField(
        required=False, max_length=255, help_text="An absolute URI: the audience."
    )
    name = serializers.CharField(required=False, max_length=100)
    client = serializers.CharField(required=False, allow_null=True, max_length=100)
    scopes = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, max_length=MAX_SCOPES
    )
    access_token_lifetime = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=MAX_LIFETIME
    )


class ApiApi(ManagementApi):
    read_permission = access.CLIENTS_READ
    write_permission = access.CLIENTS_WRITE


def _api(api_id: int) -> Api:
    api = Api.objects.select_related("client").filter(pk=api_id).first()
    if api is None:
        raise access.NotFound("API", api_id)
    return api


def _present(api: Api) -> dict[str, Any]:
    return present_api(api, api_selectors.api_usage_of(api))


class ApisApi(ApiApi):
    class FilterInput(StrictSerializer):
        ordering = serializers.ChoiceField(
            choices=api_selectors.API_ORDERINGS, required=False, default="identifier"
        )

    class CreateInput(ApiSpecInput):
        identifier = serializers.CharField(
            max_length=255, help_text="An absolute URI: the audience."
        )
        name = serializers.CharField(max_length=100)

    @extend_schema(parameters=[FilterInput], responses=ApiOutput(many=True))
    def get(self, request: Request) -> Response:
        apis = api_selectors.api_list(**query(self.FilterInput, request))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(apis, request, view=self)
        usage = api_selectors.api_usage(page)
        return paginator.get_paginated_response([present_api(a, usage[a.pk]) for a in page])

    @extend_schema(request=CreateInput, responses={201: ApiOutput})
    def post(self, request: Request) -> Response:
        spec = validated(self.CreateInput, request.data)
        api = api_services.api_create(actor=self.actor, meta=self.meta, spec=spec)
        return Response(_present(api), status=status.HTTP_201_CREATED)


class ApiDetailApi(ApiApi):
    @extend_schema(responses=ApiOutput)
    def get(self, request: Request, api_id: int) -> Response:
        return Response(_present(_api(api_id)))

    @extend_schema(
        request=ApiSpecInput,
        responses=ApiOutput,
        description="The identifier of an API in use, and the identifier, client and scopes of "
        "the built-in management API, do not change (400).",
    )
    def patch(self, request: Request, api_id: int) -> Response:
        spec = validated(ApiSpecInput, request.data)
        api = _api(api_id)
        api_services.api_update(actor=self.actor, meta=self.meta, api=api, spec=spec)
        return Response(_present(api))

    @extend_schema(
        request=None,
        responses={204: None},
        description="Refused (400) while a client lists the API in its `resources` or a live "
        "token carries its audience, and for the built-in management API.",
    )
    def delete(self, request: Request, api_id: int) -> Response:
        validated(NoInput, request.data)
        api_services.api_delete(actor=self.actor, meta=self.meta, api=_api(api_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
