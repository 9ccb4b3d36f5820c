"""API keys of users and services: list (filter by owner), create (the key shown once), revoke.

Keys are credentials: reading takes ``tokens:read``, creating or revoking ``tokens:write`` plus
the hierarchy guard on the key's owner (``roles.access``), and a key's roles must be within the
admin's own permissions (``apikeys.services.api_key_create``). Creating needs a fresh second factor.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods

from accounts.models import User
from apikeys import services as key_services
from apikeys.credentials import PREFIX
from apikeys.models import ApiKey
from console import access, selectors
from console.forms import ApiKeyFilterForm, ApiKeyForm
from console.views.common import page_of, perform, writing
from core import clock
from oauth.models import Client

DEFAULT_LIFETIME = timedelta(days=90)


@access.console_view(access.TOKENS_READ)
def api_key_list(request: HttpRequest) -> HttpResponse:
    form = ApiKeyFilterForm(request.GET)
    owner = form.cleaned_data["owner"] if form.is_valid() else ""
    context = {
        "form": form,
        "page": page_of(request, selectors.api_keys(owner=owner)),
        "query": urlencode({"owner": owner}) if owner else "",
        "prefix": PREFIX,
        "now": clock.utcnow(),
    }
    return render(request, "console/apikeys/list.html", context)


# owner type -> (model, lookup field, what the admin typed)
OWNERS = {
    "user": (User, "username", "username"),
    "client": (Client, "client_id", "client id"),
}


def _owner(form: ApiKeyForm) -> dict[str, Any] | None:
    """The key's owner named on the form; None (with a form error) when there is no such user
    or client."""
    kind, name = form.cleaned_data["owner_type"], form.cleaned_data["owner"]
    model, field, label = OWNERS[kind]
    found = model.objects.filter(**{field: name}).first()
    if found is None:
        form.add_error("owner", f"No {kind} with the {label} {name!r}.")
        return None
    return {kind: found}


@require_http_methods(["GET", "POST"])
@access.console_view(access.TOKENS_WRITE)
@access.asks_fresh_factor
def api_key_create(request: HttpRequest) -> HttpResponse:
    """Create a key; the full key is rendered once, straight into this POST's response."""
    initial = {
        "owner_type": "client" if request.GET.get("client") else "user",
        "owner": request.GET.get("client") or request.GET.get("user", ""),
        "expires_at": (clock.utcnow() + DEFAULT_LIFETIME).replace(second=0, microsecond=0),
        **access.restore_draft(request, ApiKeyForm),
    }
    form = ApiKeyForm(request.POST or None, initial=initial)
    owner = request.method == "POST" and form.is_valid() and _owner(form)
    if owner:
        data = form.cleaned_data
        done = perform(
            request,
            key_services.api_key_create,
            guard=writing(next(iter(owner.values()))),
            form=form,
            **owner,
            name=data["name"],
            description=data["description"],
            roles=[role.name for role in data["roles"]],
            expires_at=data["expires_at"],
        )
        if done.refused is None:
            key, secret = done.value
            context = {"key": key, "secret": secret, "owner": _owner_label(key)}
            return render(request, "console/apikeys/secret.html", context)
    return render(request, "console/apikeys/form.html", {"form": form})


def _owner_label(key: ApiKey) -> str:
    return f"client {key.client.client_id}" if key.client_id else f"user {key.user.username}"


@require_http_methods(["GET", "POST"])
@access.console_view(access.TOKENS_WRITE)
def api_key_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """A confirmation page, then the POST that revokes the key (and tokens exchanged for it)."""
    key = get_object_or_404(ApiKey.objects.select_related("user", "client"), pk=pk)
    if key.revoked_at is not None:
        messages.info(request, f"API key {key.name} is already revoked.")
        return redirect("console:api-key-list")
    if request.method == "POST":
        guard = writing(key.client if key.client_id else key.user)
        done = perform(request, key_services.api_key_revoke, guard=guard, key=key, via="console")
        if done.refused is None:
            messages.success(request, f"API key {key.name} revoked.")
        return redirect("console:api-key-list")
    context = {"key": key, "owner": _owner_label(key), "prefix": PREFIX}
    return render(request, "console/apikeys/confirm_revoke.html", context)
