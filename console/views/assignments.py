"""One role given until a time (or taken away), for a user or a client."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from console.forms import AssignmentForm
from console.views.common import REFUSED, add_errors


def change_assignment(
    request: HttpRequest,
    form: AssignmentForm,
    *,
    change: Callable[..., Any],
    holder: str,
    done: str,
    pk: int,
) -> HttpResponse | None:
    """Run ``change(role=, expires_at=, remove=)`` for a valid ``form`` (a mgmt service bound
    to the holder); the redirect to ``done`` after it, or None with the errors on the form."""
    if not form.is_valid():
        return None
    role, expires_at = form.cleaned_data["role"], form.cleaned_data["expires_at"]
    remove = "remove" in request.POST
    try:
        change(role=role, expires_at=expires_at, remove=remove)
    except REFUSED as exc:
        add_errors(form, exc)
        return None
    if remove:
        messages.success(request, f"Role {role.name} taken from {holder}.")
    else:
        until = f" until {expires_at:%Y-%m-%d %H:%M} UTC" if expires_at else ""
        messages.success(request, f"Role {role.name} given to {holder}{until}.")
    return redirect(done, pk=pk)
