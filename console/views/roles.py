from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from console import access, selectors
from console.forms import RoleForm
from console.views.common import perform, searched, writing
from roles import services as role_services
from roles.models import Role


@access.console_view(access.ROLES_READ)
def role_list(request: HttpRequest) -> HttpResponse:
    """The hierarchy; a search shows the matching roles as a list, a page at a time."""
    context = searched(request, Role.objects.order_by("name"), ("name", "description"))
    if not context["q"]:
        context["tree"] = selectors.role_tree()
    return render(request, "console/roles/list.html", context)


@access.console_view(access.ROLES_READ)
def role_detail(request: HttpRequest, pk: int) -> HttpResponse:
    role = get_object_or_404(Role, pk=pk)
    users, clients = selectors.role_holders(role)
    context = {
        "role": role,
        "permissions": selectors.role_permissions(role),
        "parents": role.parents.order_by("name"),
        "children": role.children.order_by("name"),
        "user_holders": users,
        "client_holders": clients,
        "group_holders": role.groups.order_by("name"),
    }
    return render(request, "console/roles/detail.html", context)


def _role_args(form: RoleForm) -> dict:
    data = form.cleaned_data
    return {
        "description": data["description"],
        "parents": [role.name for role in data["parents"]],
        "permissions": data["permissions"],
        "require_mfa": data["require_mfa"],
    }


@require_http_methods(["GET", "POST"])
@access.console_view(access.ROLES_WRITE)
@access.asks_fresh_factor
def role_create(request: HttpRequest) -> HttpResponse:
    """Create a role; ``?parent=<name>`` preselects the role it goes under."""
    initial = {"parents": [request.GET["parent"]]} if request.GET.get("parent") else {}
    initial.update(access.restore_draft(request, RoleForm))
    form = RoleForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        done = perform(
            request,
            role_services.role_create,
            form=form,
            name=form.cleaned_data["name"],
            **_role_args(form),
        )
        if done.refused is None:
            messages.success(request, f"Role {done.value.name} created.")
            return redirect("console:role-detail", pk=done.value.pk)
    return render(request, "console/roles/form.html", {"form": form, "role": None})


@require_http_methods(["GET", "POST"])
@access.console_view(access.ROLES_WRITE)
def role_edit(request: HttpRequest, pk: int) -> HttpResponse:
    role = get_object_or_404(Role, pk=pk)
    initial = {
        "name": role.name,
        "description": role.description,
        "parents": list(role.parents.values_list("name", flat=True)),
        "permissions": "\n".join(sorted(role.permissions.values_list("value", flat=True))),
        "require_mfa": role.require_mfa,
        **access.restore_draft(request, RoleForm),
    }
    form = RoleForm(request.POST or None, initial=initial, role=role)
    if request.method == "POST" and form.is_valid():
        done = perform(
            request,
            role_services.role_update,
            guard=writing(role),
            form=form,
            reload=role,  # a refused rename leaves the stored name
            role=role,
            name=form.cleaned_data["name"],
            **_role_args(form),
        )
        if done.refused is None:
            messages.success(request, f"Role {role.name} saved.")
            return redirect("console:role-detail", pk=role.pk)
    return render(request, "console/roles/form.html", {"form": form, "role": role})


@require_http_methods(["GET", "POST"])
@access.console_view(access.ROLES_WRITE)
@access.asks_fresh_factor
def role_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """A confirmation page listing what depends on the role, then the POST that deletes it."""
    role = get_object_or_404(Role, pk=pk)
    error = None
    if request.method == "POST":
        error = perform(
            request,
            role_services.role_delete,
            guard=writing(role),
            message=False,
            role=role,
        ).refused
        if error is None:
            messages.success(request, f"Role {role.name} deleted.")
            return redirect("console:role-list")
    users, clients = selectors.role_holders(role)
    context = {
        "role": role,
        "children": role.children.order_by("name"),
        "user_holders": users,
        "client_holders": clients,
        "error": error,
    }
    return render(request, "console/roles/delete.html", context, status=400 if error else 200)
