from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from console import access
from console.forms import GRANT_LABELS, ClientForm
from console.views.common import REFUSED, add_errors, page_of, refusal_text
from core.request_meta import request_meta
from oauth import services as oauth_services
from oauth.models import Client
from roles.access import acting, require_client_write
from roles.models import ClientRole


@access.console_view(access.CLIENTS_READ)
def client_list(request: HttpRequest) -> HttpResponse:
    clients = Client.objects.order_by("name", "client_id")
    return render(request, "console/clients/list.html", {"page": page_of(request, clients)})


def _show_secret(
    request: HttpRequest, client: Client, secret: str, *, created: bool
) -> HttpResponse:
    """The one time a secret is shown: rendered straight into the POST's response (never
    stored, never in a redirect or a message); the console sends ``no-store`` on every page."""
    context = {"client": client, "secret": secret, "created": created}
    return render(request, "console/clients/secret.html", context)


@require_http_methods(["GET", "POST"])
@access.console_view(access.CLIENTS_WRITE)
@access.asks_fresh_factor
def client_create(request: HttpRequest) -> HttpResponse:
    initial = {"grant_types": ["authorization_code"], **access.restore_draft(request, ClientForm)}
    form = ClientForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            client, secret = oauth_services.client_create(
                actor=acting(access.principal(request)),
                meta=request_meta(request),
                spec=form.spec(),
            )
        except REFUSED as exc:
            add_errors(form, exc)
        else:
            if secret is not None:
                return _show_secret(request, client, secret, created=True)
            messages.success(request, f"Client {client.name} created.")
            return redirect("console:client-detail", pk=client.pk)
    return render(request, "console/clients/form.html", {"form": form, "client": None})


@access.console_view(access.CLIENTS_READ)
def client_detail(request: HttpRequest, pk: int) -> HttpResponse:
    client = get_object_or_404(Client, pk=pk)
    roles = ClientRole.objects.filter(client=client).select_related("role").order_by("role__name")
    context = {"client": client, "roles": roles, "grant_labels": GRANT_LABELS}
    return render(request, "console/clients/detail.html", context)


@require_http_methods(["GET", "POST"])
@access.console_view(access.CLIENTS_WRITE)
def client_edit(request: HttpRequest, pk: int) -> HttpResponse:
    client = get_object_or_404(Client, pk=pk)
    initial = {**ClientForm.initial_for(client), **access.restore_draft(request, ClientForm)}
    form = ClientForm(request.POST or None, initial=initial, client=client)
    if request.method == "POST" and form.is_valid():
        actor = access.principal(request)
        try:
            require_client_write(actor, client)
            _, secret = oauth_services.client_update(
                actor=acting(actor), meta=request_meta(request), client=client, spec=form.spec()
            )
        except REFUSED as exc:
            client.refresh_from_db()  # the service set fields before the check refused them
            add_errors(form, exc)
        else:
            if secret is not None:
                return _show_secret(request, client, secret, created=False)
            messages.success(request, f"Client {client.name} saved.")
            return redirect("console:client-detail", pk=client.pk)
    return render(request, "console/clients/form.html", {"form": form, "client": client})


@require_http_methods(["GET", "POST"])
@access.console_view(access.CLIENTS_WRITE)
@access.asks_fresh_factor
def client_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm, then replace the client's secret; the new one is shown once."""
    client = get_object_or_404(Client, pk=pk)
    if not client.client_secret:
        messages.error(request, "This client does not authenticate with a client secret.")
        return redirect("console:client-detail", pk=client.pk)
    if request.method == "POST":
        actor = access.principal(request)
        try:
            require_client_write(actor, client)
            secret = oauth_services.client_rotate_secret(
                actor=acting(actor), meta=request_meta(request), client=client
            )
        except REFUSED as exc:
            messages.error(request, refusal_text(exc))
            return redirect("console:client-detail", pk=client.pk)
        return _show_secret(request, client, secret, created=False)
    return render(request, "console/clients/confirm_rotate.html", {"client": client})
