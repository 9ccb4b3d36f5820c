"""Blocked IPs: the abuse response's blocks (active and recent), manual blocks, and lifting a
block behind a confirmation page. Writes go through ``abuse.services`` (block or lift, audit
event and cache invalidation in one transaction)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from abuse import selectors, services
from abuse.models import IpBlock
from console import access
from console.forms import ConsoleForm
from console.views.common import add_errors
from core.request_meta import request_meta
from roles.access import SECURITY_READ, SECURITY_WRITE, acting

DURATIONS = (
    (15 * 60, "15 minutes"),
    (3600, "1 hour"),
    (86400, "1 day"),
    (7 * 86400, "7 days"),
    (30 * 86400, "30 days"),
)


class BlockForm(ConsoleForm):
    network = forms.CharField(
        label="IP address or network",
        max_length=49,
        help_text="An address (203.0.113.7) or a CIDR network (203.0.113.0/24).",
    )
    seconds = forms.TypedChoiceField(
        label="Duration", choices=DURATIONS, coerce=int, initial=DURATIONS[0][0]
    )
    reason = forms.CharField(max_length=200)


def _page(request: HttpRequest, form: BlockForm, status: int = 200) -> HttpResponse:
    now = timezone.now()
    context = {
        "active": selectors.blocks_active(now),
        "recent": selectors.blocks_recent(now)[:100],
        "form": form,
        "now": now,
    }
    return render(request, "console/abuse/list.html", context, status=status)


@access.console_view(SECURITY_READ)
def blocked_ip_list(request: HttpRequest) -> HttpResponse:
    return _page(request, BlockForm())


@require_POST
@access.console_view(SECURITY_WRITE)
def blocked_ip_create(request: HttpRequest) -> HttpResponse:
    form = BlockForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            result = services.ip_block(
                network=data["network"],
                seconds=data["seconds"],
                reason=data["reason"],
                actor=acting(access.principal(request)),
                meta=request_meta(request),
            )
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            block = result.block
            if result.created:
                messages.success(request, f"{block.network} blocked.")
            else:
                messages.info(
                    request,
                    f"{block.network} is already blocked until "
                    f"{block.expires:%Y-%m-%d %H:%M} UTC; nothing changed.",
                )
            return redirect("console:blocked-ip-list")
    return _page(request, form, status=400)


@require_http_methods(["GET", "POST"])
@access.console_view(SECURITY_WRITE)
def blocked_ip_unblock(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm, then lift a block now."""
    block = get_object_or_404(IpBlock, pk=pk)
    if request.method == "POST":
        actor = acting(access.principal(request))
        if services.ip_unblock(block=block, actor=actor, meta=request_meta(request)):
            messages.success(request, f"Block of {block.network} lifted.")
        else:
            messages.info(request, f"The block of {block.network} had already ended.")
        return redirect("console:blocked-ip-list")
    return render(request, "console/abuse/confirm_unblock.html", {"ip_block": block})
