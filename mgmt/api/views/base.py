"""The base of every management API view: authentication, the permission check, JSON only,
problem details for errors, capped pagination, strict input (unknown fields are a 400)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from django.db.models import QuerySet
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from core.request_meta import RequestMeta, request_meta
from mgmt.api import errors
from mgmt.api.authentication import BearerTokenAuthentication
from mgmt.api.pagination import Pagination
from mgmt.api.parsers import BoundedJSONParser
from mgmt.api.permissions import HasManagementPermission
from roles.access import Acting, acting
from roles.decisions import Principal

NON_FIELD = api_settings.NON_FIELD_ERRORS_KEY


class StrictSerializer(serializers.Serializer):
    """Input that names a field the operation does not take is refused, not silently ignored,
    so ``{"is_superuser": true}`` or ``{"password": ...}`` in the wrong place is a visible 400
    (OWASP API3, mass assignment). Unknown fields are reported together with every other
    field's error, so one answer lists all that is wrong."""

    UNKNOWN_FIELD = "This field is not accepted here."

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        unknown = sorted(set(data) - set(self.fields)) if isinstance(data, Mapping) else []
        errors: dict[str, Any] = {name: [self.UNKNOWN_FIELD] for name in unknown}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            detail = exc.detail if isinstance(exc.detail, dict) else {NON_FIELD: exc.detail}
            raise serializers.ValidationError({**detail, **errors}) from None
        if errors:
            raise serializers.ValidationError(errors)
        return value


class NoInput(StrictSerializer):
    """The body of an operation that takes none: any field in it is refused."""


class ManagementApi(APIView):
    # API keys (issue 6): a key presented in a header of its own adds its authentication
    # class here; keys sent as Bearer are already resolved by BearerTokenAuthentication.
    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [HasManagementPermission]
    renderer_classes = [JSONRenderer]
    parser_classes = [BoundedJSONParser]
    # No OPTIONS (it would describe the endpoint) and no TRACE: both answer 405, and Allow
    # lists only what an endpoint implements.
    http_method_names = ["get", "post", "put", "patch", "delete", "head"]
    pagination_class = Pagination
    read_permission: ClassVar[str]
    write_permission: ClassVar[str]

    def get_exception_handler(self) -> Callable[[Exception, dict[str, Any]], Response]:
        return errors.exception_handler

    @property
    def principal(self) -> Principal:
        return self.request.user

    @property
    def actor(self) -> Acting:
        """The caller as the ``actor`` of the domain services (``roles.access.acting``)."""
        return acting(self.principal)

    @property
    def meta(self) -> RequestMeta:
        """Who sent the request, for the audit event of the change (``core.request_meta``)."""
        return request_meta(self.request)

    def paginate(self, queryset: QuerySet | list, present: Callable[[Any], Any]) -> Response:
        """One page of ``queryset``, each item turned into its output by ``present``."""
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(queryset, self.request, view=self)
        return paginator.get_paginated_response([present(item) for item in page])


def validated(serializer_class: type[serializers.Serializer], data: Any, **kwargs: Any) -> dict:
    """Validate ``data`` (a body or query parameters); a ValidationError becomes a 400 problem."""
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def query(serializer_class: type[serializers.Serializer], request: Request) -> dict:
    """Validated query parameters; pagination parameters are the paginator's own."""
    params = {k: v for k, v in request.query_params.items() if k not in ("page", "page_size")}
    return validated(serializer_class, params)
