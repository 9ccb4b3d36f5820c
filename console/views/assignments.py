"""One role given until a time (or taken away), for a user or a client."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from console.forms import AssignmentForm
from console.views.common import perform
from roles.access import Principal


def change_assignment(
    request: HttpRequest,
    form: AssignmentForm,
    service: Callable[..., Any],
    *,
    guard: Callable[[Principal], object],
    holder: dict[str, Any],
    name: str,
    done: str,
) -> HttpResponse | None:
    """For a valid ``form``, run ``service(role=, expires_at=, remove=, **holder)`` (a roles
    service; ``guard`` the hierarchy check on the holder); the redirect to the holder's page
    ``done`` after it, or None with the errors on the form."""
    if not form.is_valid():
        return None
    role, expires_at = form.cleaned_data["role"], form.cleaned_data["expires_at"]
    remove = "remove" in request.POST
    change = {"role": role, "expires_at": expires_at, "remove": remove}
    if perform(request, service, guard=guard, form=form, **holder, **change).refused is not None:
        return None
    if remove:
        messages.success(request, f"Role {role.name} taken from {name}.")
    else:
        until = f" until {expires_at:%Y-%m-%d %H:%M} UTC" if expires_at else ""
        messages.success(request, f"Role {role.name} given to {name}{until}.")
    return redirect(done, pk=next(iter(holder.values())).pk)
