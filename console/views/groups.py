"""Groups (issue 20): the list, a group's page (its roles with where each comes from, its
parents, children and members), create, edit, delete, and adding and removing members.
Reads need ``groups:read``, writes ``groups:write``; the services apply the hierarchy guard
and ask for a fresh second factor."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import User
from console import access
from console.forms import GroupForm, GroupMemberForm
from console.views.common import page_of, perform, searched, writing
from roles import group_services, policy, selectors
from roles.access import NotFound, Principal, require_group_write, require_user_write
from roles.models import Group


@access.console_view(access.GROUPS_READ)
def group_list(request: HttpRequest) -> HttpResponse:
    rows = Group.objects.prefetch_related("parents", "roles").order_by("name")
    context = searched(request, rows, ("name", "description"))
    return render(request, "console/groups/list.html", context)


def _detail(
    request: HttpRequest, group: Group, member_form: GroupMemberForm | None = None
) -> HttpResponse:
    sources = policy.role_sources(selectors.role_graph(), selectors.group_graph(), (), [group.name])
    context = {
        "group": group,
        "parents": group.parents.order_by("name"),
        "children": group.children.order_by("name"),
        "roles": sources,
        "members": page_of(request, group.members.order_by("username")),
        "member_form": member_form or GroupMemberForm(),
    }
    return render(
        request, "console/groups/detail.html", context, status=400 if member_form else 200
    )


@access.console_view(access.GROUPS_READ)
def group_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, get_object_or_404(Group, pk=pk))


def _group_args(form: GroupForm) -> dict[str, Any]:
    data = form.cleaned_data
    return {
        "name": data["name"],
        "description": data["description"],
        "parents": [g.name for g in data["parents"]],
        "roles": [r.name for r in data["roles"]],
    }


@require_http_methods(["GET", "POST"])
@access.console_view(access.GROUPS_WRITE)
@access.asks_fresh_factor
def group_create(request: HttpRequest) -> HttpResponse:
    form = GroupForm(request.POST or None, initial=access.restore_draft(request, GroupForm))
    if request.method == "POST" and form.is_valid():
        done = perform(request, group_services.group_create, form=form, **_group_args(form))
        if done.refused is None:
            group = done.value
            messages.success(request, f"Group {group.name} created.")
            return redirect("console:group-detail", pk=group.pk)
    return render(request, "console/groups/form.html", {"form": form, "group": None})


@require_http_methods(["GET", "POST"])
@access.console_view(access.GROUPS_WRITE)
def group_edit(request: HttpRequest, pk: int) -> HttpResponse:
    group = get_object_or_404(Group, pk=pk)
    initial = {
        "name": group.name,
        "description": group.description,
        "parents": list(group.parents.values_list("name", flat=True)),
        "roles": list(group.roles.values_list("name", flat=True)),
        **access.restore_draft(request, GroupForm),
    }
    form = GroupForm(request.POST or None, initial=initial, group=group)
    if request.method == "POST" and form.is_valid():
        done = perform(
            request,
            group_services.group_update,
            guard=writing(group),
            form=form,
            reload=group,  # a refused rename leaves the stored name
            group=group,
            **_group_args(form),
        )
        if done.refused is None:
            messages.success(request, f"Group {group.name} saved.")
            return redirect("console:group-detail", pk=group.pk)
    return render(request, "console/groups/form.html", {"form": form, "group": group})


@require_http_methods(["GET", "POST"])
@access.console_view(access.GROUPS_WRITE)
@access.asks_fresh_factor
def group_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """A confirmation page saying who loses what, then the POST that deletes the group."""
    group = get_object_or_404(Group, pk=pk)
    error = None
    if request.method == "POST":
        done = perform(
            request, group_services.group_delete, guard=writing(group), message=False, group=group
        )
        error = done.refused
        if error is None:
            messages.success(request, f"Group {group.name} deleted.")
            return redirect("console:group-list")
    context = {
        "group": group,
        "members": group.members.count(),
        "children": group.children.order_by("name"),
        "error": error,
    }
    return render(request, "console/groups/delete.html", context, status=400 if error else 200)


@require_POST
@access.console_view(access.GROUPS_WRITE, form_page="console:group-detail")
def group_member_add(request: HttpRequest, pk: int) -> HttpResponse:
    group = get_object_or_404(Group, pk=pk)
    form = GroupMemberForm(request.POST)
    if form.is_valid():
        username = form.cleaned_data["username"]
        user = User.objects.filter(username=username).first()

        def guard(principal: Principal) -> None:
            if user is None:
                raise NotFound("user", username)
            require_group_write(principal, group)
            require_user_write(principal, user)

        done = perform(
            request, group_services.group_member_add, guard=guard, form=form, group=group, user=user
        )
        if done.refused is None and user is not None:
            note = "was already a member of" if done.value else "added to"
            messages.success(request, f"{user.username} {note} {group.name}.")
            return redirect("console:group-detail", pk=group.pk)
    return _detail(request, group, form)


@require_POST
@access.console_view(access.GROUPS_WRITE, form_page="console:group-detail")
def group_member_remove(request: HttpRequest, pk: int, user_pk: int) -> HttpResponse:
    group = get_object_or_404(Group, pk=pk)
    user = get_object_or_404(User, pk=user_pk)

    def guard(principal: Principal) -> None:
        require_group_write(principal, group)
        require_user_write(principal, user)

    done = perform(request, group_services.group_member_remove, guard=guard, group=group, user=user)
    if done.refused is None:
        messages.success(request, f"{user.username} removed from {group.name}.")
    return redirect("console:group-detail", pk=group.pk)
