from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.selectors import live_token_count
from console import access
from console.forms import GRANT_LABELS, AssignmentForm, ClientForm
from console.views.assignments import change_assignment
from console.views.common import perform, searched, writing
from oauth import backchannel
from oauth import services as oauth_services
from oauth.models import Client
from roles import services as role_services
from roles.models import ClientRole


@access.console_view(access.CLIENTS_READ)
def client_list(request: HttpRequest) -> HttpResponse:
    clients = Client.objects.order_by("name", "client_id")
    context = searched(request, clients, ("name", "client_id", "redirect_uris"))
    return render(request, "console/clients/list.html", context)


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
        done = perform(request, oauth_services.client_create, form=form, spec=form.spec())
        if done.refused is None:
            client, secret = done.value
            if secret is not None:
                return _show_secret(request, client, secret, created=True)
            messages.success(request, f"Client {client.name} created.")
            return redirect("console:client-detail", pk=client.pk)
    return render(request, "console/clients/form.html", {"form": form, "client": None})


def _detail(request: HttpRequest, client: Client, form: AssignmentForm) -> HttpResponse:
    roles = ClientRole.objects.filter(client=client).select_related("role").order_by("role__name")
    context = {
        "client": client,
        "roles": roles,
        "grant_labels": GRANT_LABELS,
        "assign_form": form,
        "logout_notices": backchannel.recent(client),
    }
    return render(request, "console/clients/detail.html", context)


@access.console_view(access.CLIENTS_READ)
def client_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, get_object_or_404(Client, pk=pk), AssignmentForm())


@require_POST
@access.console_view(access.CLIENTS_WRITE, form_page="console:client-detail")
def client_assign(request: HttpRequest, pk: int) -> HttpResponse:
    """Give the client one role (what it may do with its own tokens) until a time, or take
    it away."""
    client = get_object_or_404(Client, pk=pk)
    form = AssignmentForm(request.POST)
    done = change_assignment(
        request,
        form,
        role_services.client_role_set,
        guard=writing(client),
        holder={"client": client},
        name=client.name or client.client_id,
        done="console:client-detail",
    )
    return done if done is not None else _detail(request, client, form)


@require_http_methods(["GET", "POST"])
@access.console_view(access.CLIENTS_WRITE)
def client_edit(request: HttpRequest, pk: int) -> HttpResponse:
    client = get_object_or_404(Client, pk=pk)
    initial = {**ClientForm.initial_for(client), **access.restore_draft(request, ClientForm)}
    form = ClientForm(request.POST or None, initial=initial, client=client)
    if request.method == "POST" and form.is_valid():
        done = perform(
            request,
            oauth_services.client_update,
            guard=writing(client),
            form=form,
            reload=client,  # the service set fields before the check refused them
            client=client,
            spec=form.spec(),
        )
        if done.refused is None:
            _, secret = done.value
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
        done = perform(
            request,
            oauth_services.client_rotate_secret,
            guard=writing(client),
            client=client,
        )
        if done.refused is not None:
            return redirect("console:client-detail", pk=client.pk)
        return _show_secret(request, client, done.value, created=False)
    return render(request, "console/clients/confirm_rotate.html", {"client": client})


@require_http_methods(["GET", "POST"])
@access.console_view(access.CLIENTS_WRITE)
def client_active(request: HttpRequest, pk: int) -> HttpResponse:
    """Disable (or enable) a client: a confirmation page, then the POST that does it. Enabling
    again asks for a fresh second factor (the service checks)."""
    client = get_object_or_404(Client, pk=pk)
    if request.method == "POST":
        done = perform(
            request,
            oauth_services.client_update,
            guard=writing(client),
            reload=client,
            client=client,
            spec={"is_active": not client.is_active},
        )
        if done.refused is None:
            state = "enabled" if client.is_active else "disabled"
            messages.success(request, f"Client {client.name or client.client_id} {state}.")
        return redirect("console:client-detail", pk=client.pk)
    return render(request, "console/clients/confirm_active.html", {"client": client})


@require_http_methods(["GET", "POST"])
@access.console_view(access.CLIENTS_WRITE)
@access.asks_fresh_factor
def client_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm (saying how many live tokens end), then delete the client."""
    client = get_object_or_404(Client, pk=pk)
    if request.method == "POST":
        done = perform(
            request,
            oauth_services.client_delete,
            guard=writing(client),
            client=client,
        )
        if done.refused is not None:
            return redirect("console:client-detail", pk=client.pk)
        messages.success(request, f"Client {client.client_id} deleted; its tokens ended.")
        return redirect("console:client-list")
    context = {"client": client, "live_tokens": live_token_count(application=client)}
    return render(request, "console/clients/confirm_delete.html", context)
