"""Registered APIs: the list (with what uses each), register, edit, delete.

Managing APIs takes the client permissions (``clients:read`` / ``clients:write``), as in the
management API: an API is registered for a client, and which clients may obtain tokens for it
is a client setting (``resources``).
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from console import access
from console.forms import ApiForm
from console.views.common import page_of, perform
from oauth import api_selectors, api_services
from oauth.apis import audience_of
from oauth.models import Api


@access.console_view(access.CLIENTS_READ)
def api_list(request: HttpRequest) -> HttpResponse:
    page = page_of(request, api_selectors.api_list(ordering="identifier"))
    usage = api_selectors.api_usage(page.object_list)
    rows = [(api, audience_of(api.identifier), usage[api.pk]) for api in page]
    return render(request, "console/apis/list.html", {"page": page, "rows": rows})


@require_http_methods(["GET", "POST"])
@access.console_view(access.CLIENTS_WRITE)
def api_create(request: HttpRequest) -> HttpResponse:
    form = ApiForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        done = perform(request, api_services.api_create, form=form, spec=form.spec())
        if done.refused is None:
            messages.success(request, f"API {done.value.name} registered.")
            return redirect("console:api-list")
    return render(request, "console/apis/form.html", {"form": form, "api": None})


@require_http_methods(["GET", "POST"])
@access.console_view(access.CLIENTS_WRITE)
def api_edit(request: HttpRequest, pk: int) -> HttpResponse:
    api = get_object_or_404(Api.objects.select_related("client"), pk=pk)
    form = ApiForm(request.POST or None, initial=ApiForm.initial_for(api), api=api)
    if request.method == "POST" and form.is_valid():
        done = perform(request, api_services.api_update, form=form, api=api, spec=form.spec())
        if done.refused is None:
            messages.success(request, f"API {api.name} saved.")
            return redirect("console:api-list")
    context = {"form": form, "api": api, "usage": api_selectors.api_usage_of(api)}
    return render(request, "console/apis/form.html", context)


@require_http_methods(["GET", "POST"])
@access.console_view(access.CLIENTS_WRITE)
def api_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """A confirmation page saying what uses the API, then the POST that deletes it (refused,
    and shown on this page, while anything does)."""
    api = get_object_or_404(Api, pk=pk)
    error = None
    if request.method == "POST":
        error = perform(request, api_services.api_delete, message=False, api=api).refused
        if error is None:
            messages.success(request, f"API {api.name} deleted.")
            return redirect("console:api-list")
    context = {"api": api, "usage": api_selectors.api_usage_of(api), "error": error}
    return render(request, "console/apis/delete.html", context, status=400 if error else 200)
