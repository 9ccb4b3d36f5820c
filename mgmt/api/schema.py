"""OpenAPI generation (drf-spectacular): problem-details responses and the Bearer scheme.

Every operation documents the problem details it can answer with, so schema-driven clients and
Schemathesis see error bodies as part of the contract, not as surprises.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers

from mgmt.api import errors

# Errors any operation of the API may answer with (500 is a bug, not a contract).
ERROR_STATUSES = (400, 401, 403, 404, 405, 406, 413, 415, 429)


class ProblemErrorSerializer(serializers.Serializer):
    """One validation message."""

    field = serializers.CharField(
        allow_null=True,
        help_text="Dotted path of the input it is about (`redirect_uris.1`); null for the "
        "request as a whole.",
    )
    detail = serializers.CharField()

    class Meta:
        ref_name = "ProblemError"


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details."""

    type = serializers.URLField(help_text="Stable URI identifying the kind of problem.")
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField(help_text="What went wrong, for a person to read.")
    errors = ProblemErrorSerializer(
        many=True,
        required=False,
        help_text="Every validation message, unknown fields included (validation-error only).",
    )

    class Meta:
        ref_name = "Problem"


def problem_description(status: int) -> str:
    """The problem types an answer of ``status`` may carry, for its response description."""
    kinds = [p for p in errors.PROBLEM_TYPES if p.status == status]
    return "Problem details: " + ", ".join(f"`{p.uri}` ({p.title})" for p in kinds) + "."


class ProblemAutoSchema(AutoSchema):
    def get_serializer_name(self, serializer: serializers.Serializer, direction: str) -> str:
        """Nested serializers (``UsersApi.CreateInput``) are named after their view too, so
        the many ``CreateInput`` classes become distinct components."""
        cls = serializer if isinstance(serializer, type) else type(serializer)
        return cls.__qualname__.replace(".", "")

    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        for status, response in responses.items():
            if not response.get("description") and status.isdigit():
                response["description"] = HTTPStatus(int(status)).phrase
        for status in ERROR_STATUSES:
            if str(status) in responses:
                continue
            response = self._get_response_for_code(
                ProblemSerializer(),
                str(status),
                media_types=[errors.PROBLEM_CONTENT_TYPE],
                direction=direction,
            )
            responses[str(status)] = {**response, "description": problem_description(status)}
        return responses


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "mgmt.api.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "An access token requested with resource=<issuer>/api/v1/ and scope "
            "management by a client listing management in its resources, or an API key.",
        }
