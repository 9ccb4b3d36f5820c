"""Invitations (``selfservice.invitations``): list, invite an address with roles and groups,
resend, revoke. Reading takes ``users:read``, writing ``users:write`` (an invitation makes a
user) plus the hierarchy guard over the roles and groups handed out, and inviting a fresh
second factor."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from console import access
from console.forms import InvitationForm
from console.views.common import page_of, perform
from selfservice import invitations
from selfservice.models import Invitation


@access.console_view(access.USERS_READ)
def invitation_list(request: HttpRequest) -> HttpResponse:
    rows = Invitation.objects.prefetch_related("roles", "groups").order_by("-created_at")
    now = timezone.now()
    page = page_of(request, rows)
    context = {"page": page, "rows": [(i, i.status(now)) for i in page]}
    return render(request, "console/invitations/list.html", context)


@require_http_methods(["GET", "POST"])
@access.console_view(access.USERS_WRITE)
@access.asks_fresh_factor
def invitation_create(request: HttpRequest) -> HttpResponse:
    form = InvitationForm(
        request.POST or None, initial=access.restore_draft(request, InvitationForm)
    )
    if request.method == "POST" and form.is_valid():
        done = perform(
            request,
            invitations.invitation_create,
            form=form,
            email=form.cleaned_data["email"],
            roles=[role.name for role in form.cleaned_data["roles"]],
            groups=[group.name for group in form.cleaned_data["groups"]],
        )
        if done.refused is None:
            messages.success(request, f"Invitation sent to {done.value.email}.")
            return redirect("console:invitation-list")
    context = {"form": form, "days": settings.INVITATION_DAYS}
    return render(request, "console/invitations/form.html", context)


def _act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    invitation = get_object_or_404(Invitation, pk=pk)
    service = invitations.invitation_resend if action == "resend" else invitations.invitation_revoke
    if perform(request, service, invitation=invitation).refused is None:
        done = "sent again" if action == "resend" else "revoked"
        messages.success(request, f"Invitation of {invitation.email} {done}.")
    return redirect("console:invitation-list")


@require_POST
@access.console_view(access.USERS_WRITE)
def invitation_resend(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, "resend")


@require_POST
@access.console_view(access.USERS_WRITE)
def invitation_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, "revoke")
