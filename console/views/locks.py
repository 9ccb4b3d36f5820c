"""Locked accounts: who cannot sign in for now (wrong codes, wrong passwords), and unlocking."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from accounts.models import User
from console import access, selectors
from console.views.common import perform, writing
from core import clock
from mfa import services as mfa_services


@access.console_view(access.USERS_READ)
def locked_list(request: HttpRequest) -> HttpResponse:
    locks, complete = selectors.locked_accounts(clock.utcnow())
    return render(request, "console/users/locked.html", {"locks": locks, "complete": complete})


@require_http_methods(["GET", "POST"])
@access.console_view(access.USERS_WRITE)
def user_unlock(request: HttpRequest, pk: int) -> HttpResponse:
    """A confirmation page naming the locks, then the POST that lifts them."""
    user = get_object_or_404(User, pk=pk)
    if request.method == "POST":
        done = perform(
            request,
            mfa_services.user_unlock,
            guard=writing(user),
            user=user,
        )
        if done.refused is not None:
            return redirect("console:user-detail", pk=user.pk)
        if done.value:
            messages.success(request, f"{user.username} unlocked.")
        else:
            messages.info(request, f"{user.username} was not locked.")
        return redirect("console:locked-list")
    locks, complete = selectors.locked_accounts(clock.utcnow())
    context = {"subject": user, "locks": [lock for lock in locks if lock.user == user]}
    return render(request, "console/users/confirm_unlock.html", {**context, "complete": complete})
