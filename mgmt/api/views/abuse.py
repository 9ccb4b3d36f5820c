"""IP blocks of the abuse response: list (active, or ended too), block by hand, lift."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from abuse import selectors, services
from abuse.models import IpBlock
from mgmt.api.views.base import ManagementApi, NoInput, StrictSerializer, query, validated
from roles import access


class IpBlockOutput(serializers.Serializer):
    id = serializers.IntegerField()
    network = serializers.CharField()
    reason = serializers.CharField()
    created = serializers.DateTimeField()
    expires = serializers.DateTimeField()
    created_by = serializers.CharField(help_text='"auto" for blocks the abuse detection made.')
    lifted_at = serializers.DateTimeField(allow_null=True)
    lifted_by = serializers.CharField(allow_blank=True)


def present_block(block: IpBlock) -> dict[str, Any]:
    return IpBlockOutput(block).data


class IpBlocksBaseApi(ManagementApi):
    read_permission = access.SECURITY_READ
    write_permission = access.SECURITY_WRITE


class IpBlocksApi(IpBlocksBaseApi):
    class FilterInput(StrictSerializer):
        include_ended = serializers.BooleanField(
            required=False, default=False, help_text="Also blocks that ended recently."
        )

    class BlockInput(StrictSerializer):
        network = serializers.CharField(max_length=49, help_text="An address or CIDR network.")
        seconds = serializers.IntegerField(min_value=1, max_value=services.MAX_BLOCK_SECONDS)
        reason = serializers.CharField(max_length=200)

    @extend_schema(parameters=[FilterInput], responses=IpBlockOutput(many=True))
    def get(self, request: Request) -> Response:
        now = timezone.now()
        rows = list(selectors.blocks_active(now))
        if query(self.FilterInput, request)["include_ended"]:
            rows += list(selectors.blocks_recent(now))
        return self.paginate(rows, present_block)

    @extend_schema(
        request=BlockInput,
        responses={201: IpBlockOutput, 200: IpBlockOutput},
        description="Idempotent: when an active block already covers the network, it is "
        "returned unchanged with 200.",
    )
    def post(self, request: Request) -> Response:
        data = validated(self.BlockInput, request.data)
        result = services.ip_block(**data, actor=self.actor, meta=self.meta)
        code = status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        return Response(present_block(result.block), status=code)


class IpBlockApi(IpBlocksBaseApi):
    def _block(self, block_id: int) -> IpBlock:
        block = IpBlock.objects.filter(pk=block_id).first()
        if block is None:
            raise access.NotFound("IP block", block_id)
        return block

    @extend_schema(responses=IpBlockOutput)
    def get(self, request: Request, block_id: int) -> Response:
        return Response(present_block(self._block(block_id)))

    @extend_schema(responses={204: None}, description="Lift the block now (idempotent).")
    def delete(self, request: Request, block_id: int) -> Response:
        validated(NoInput, request.data)
        block = self._block(block_id)
        services.ip_unblock(block=block, actor=self.actor, meta=self.meta)
        return Response(status=status.HTTP_204_NO_CONTENT)
