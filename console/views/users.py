from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts import services as account_services
from accounts.models import User
from accounts.selectors import live_token_count
from console import access, selectors
from console.forms import (
    AssignmentForm,
    PasswordResetForm,
    UserCreateForm,
    UserEditForm,
    UserGroupsForm,
    UserRolesForm,
)
from console.views.assignments import change_assignment
from console.views.common import perform, searched, writing
from core import clock
from mfa import selectors as mfa_selectors
from mfa import services as mfa_services
from oauth import services as oauth_services
from roles import group_services
from roles import selectors as role_selectors
from roles import services as role_services
from roles.access import Principal, require_not_self, require_user_write
from roles.models import UserRole


@access.console_view(access.USERS_READ)
def user_list(request: HttpRequest) -> HttpResponse:
    """Users, searched; ``?status=disabled`` lists the disabled accounts only."""
    users = User.objects.order_by("username")
    disabled = request.GET.get("status") == "disabled"
    if disabled:
        users = users.filter(is_active=False)
    context = searched(request, users, ("username", "email", "name"))
    if disabled:
        context["query"] = "&".join(filter(None, [context["query"], "status=disabled"]))
    return render(request, "console/users/list.html", context)


@require_http_methods(["GET", "POST"])
@access.console_view(access.USERS_WRITE)
def user_create(request: HttpRequest) -> HttpResponse:
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        done = perform(request, account_services.user_create, form=form, **form.cleaned_data)
        if done.refused is None:
            messages.success(request, f"User {done.value.username} created.")
            return redirect("console:user-detail", pk=done.value.pk)
    return render(request, "console/users/create.html", {"form": form})


def _detail(
    request: HttpRequest,
    user: User,
    roles_form: UserRolesForm,
    assign_form: AssignmentForm | None = None,
    groups_form: UserGroupsForm | None = None,
) -> HttpResponse:
    assignments = UserRole.objects.filter(user=user).select_related("role").order_by("role__name")
    groups = sorted(role_selectors.user_groups(user.pk))
    context = {
        "subject": user,
        "assignments": assignments,
        "roles_form": roles_form,
        "assign_form": assign_form or AssignmentForm(),
        "groups_form": groups_form or UserGroupsForm(initial={"groups": groups}),
        "member_of": user.member_groups.order_by("name"),
        "role_sources": role_selectors.user_role_sources(user.pk),
        "effective_roles": sorted(role_selectors.user_grant(user.pk).roles),
        "sessions": selectors.live_sessions(clock.utcnow(), user),
        "factors": mfa_selectors.authenticators_of(user),
    }
    return render(request, "console/users/detail.html", context)


@access.console_view(access.USERS_READ)
def user_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = get_object_or_404(User, pk=pk)
    held = list(UserRole.objects.filter(user=user).values_list("role__name", flat=True))
    initial = {"roles": held, **access.restore_draft(request, UserRolesForm)}
    return _detail(request, user, UserRolesForm(initial=initial))


@require_POST
@access.console_view(access.USERS_WRITE, form_page="console:user-detail")
def user_roles(request: HttpRequest, pk: int) -> HttpResponse:
    user = get_object_or_404(User, pk=pk)
    form = UserRolesForm(request.POST)
    if form.is_valid():
        names = [role.name for role in form.cleaned_data["roles"]]
        done = perform(
            request,
            role_services.user_roles_replace,
            guard=writing(user),
            form=form,
            user=user,
            roles=names,
        )
        if done.refused is None:
            messages.success(request, f"Roles of {user.username} saved.")
            return redirect("console:user-detail", pk=user.pk)
    return _detail(request, user, form)


@require_POST
@access.console_view((access.USERS_WRITE, access.GROUPS_WRITE), form_page="console:user-detail")
def user_groups(request: HttpRequest, pk: int) -> HttpResponse:
    """Make the checked groups the user's (each group joined or left behind the guard)."""
    user = get_object_or_404(User, pk=pk)
    form = UserGroupsForm(request.POST)
    if form.is_valid():
        done = perform(
            request,
            group_services.user_groups_set,
            guard=writing(user),
            form=form,
            user=user,
            groups=[g.name for g in form.cleaned_data["groups"]],
        )
        if done.refused is None:
            messages.success(request, f"Groups of {user.username} saved.")
            return redirect("console:user-detail", pk=user.pk)
    held = list(UserRole.objects.filter(user=user).values_list("role__name", flat=True))
    return _detail(request, user, UserRolesForm(initial={"roles": held}), groups_form=form)


@require_POST
@access.console_view(access.USERS_WRITE, form_page="console:user-detail")
def user_assign(request: HttpRequest, pk: int) -> HttpResponse:
    """Give the user one role until a time (or for good), or take it away."""
    user = get_object_or_404(User, pk=pk)
    form = AssignmentForm(request.POST)
    done = change_assignment(
        request,
        form,
        role_services.user_role_set,
        guard=writing(user),
        holder={"user": user},
        name=user.username,
        done="console:user-detail",
    )
    if done is not None:
        return done
    held = list(UserRole.objects.filter(user=user).values_list("role__name", flat=True))
    return _detail(request, user, UserRolesForm(initial={"roles": held}), form)


@require_http_methods(["GET", "POST"])
@access.console_view(access.USERS_WRITE)
def user_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """A user's name and email (the username stays: it is their sign-in and audit name)."""
    user = get_object_or_404(User, pk=pk)
    form = UserEditForm(request.POST or None, initial={"name": user.name, "email": user.email})
    if request.method == "POST" and form.is_valid():
        done = perform(
            request,
            account_services.user_update,
            guard=writing(user),
            form=form,
            reload=user,
            user=user,
            **form.cleaned_data,
        )
        if done.refused is None:
            messages.success(request, f"User {user.username} saved.")
            return redirect("console:user-detail", pk=user.pk)
    return render(request, "console/users/edit.html", {"form": form, "subject": user})


def _deletable(user: User) -> Callable[[Principal], None]:
    """The guard of a deletion: never one's own account, and only a user one may write."""

    def guard(actor: Principal) -> None:
        require_not_self(actor, user=user)
        require_user_write(actor, user)

    return guard


@require_http_methods(["GET", "POST"])
@access.console_view(access.USERS_WRITE)
@access.asks_fresh_factor
def user_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm (saying how many live tokens end), then delete the user; never oneself."""
    user = get_object_or_404(User, pk=pk)
    if request.method == "POST":
        done = perform(request, account_services.user_delete, guard=_deletable(user), user=user)
        if done.refused is not None:
            return redirect("console:user-detail", pk=user.pk)
        messages.success(request, f"User {user.username} deleted; their tokens ended.")
        return redirect("console:user-list")
    context = {"subject": user, "live_tokens": live_token_count(user=user)}
    return render(request, "console/users/confirm_delete.html", context)


@require_http_methods(["GET", "POST"])
@access.console_view(access.USERS_WRITE)
def user_active(request: HttpRequest, pk: int) -> HttpResponse:
    """Disable (or enable) a user: a confirmation page, then the POST that does it."""
    user = get_object_or_404(User, pk=pk)
    if request.method == "POST":
        if user.pk == request.user.pk:
            messages.error(request, "You cannot disable your own account.")
            return redirect("console:user-detail", pk=user.pk)
        done = perform(
            request,
            oauth_services.user_set_active,
            guard=writing(user),
            user=user,
            active=not user.is_active,
        )
        if done.refused is None:
            state = "enabled" if user.is_active else "disabled"
            messages.success(request, f"User {user.username} {state}.")
        return redirect("console:user-detail", pk=user.pk)
    return render(request, "console/users/confirm_active.html", {"subject": user})


@require_http_methods(["GET", "POST"])
@access.console_view(access.USERS_WRITE)
@access.asks_fresh_factor
def user_password(request: HttpRequest, pk: int) -> HttpResponse:
    user = get_object_or_404(User, pk=pk)
    form = PasswordResetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        done = perform(
            request,
            oauth_services.user_set_password,
            guard=writing(user),
            form=form,
            user=user,
            password=form.cleaned_data["password"],
        )
        if done.refused is None:
            messages.success(request, f"Password of {user.username} reset; their sessions ended.")
            return redirect("console:user-detail", pk=user.pk)
    return render(request, "console/users/password.html", {"subject": user, "form": form})


@require_http_methods(["GET", "POST"])
@access.console_view(access.USERS_WRITE)
@access.asks_fresh_factor
def user_mfa_reset(request: HttpRequest, pk: int) -> HttpResponse:
    """A confirmation page listing the user's factors, then the POST that removes them all."""
    user = get_object_or_404(User, pk=pk)
    if user.pk == request.user.pk:
        messages.error(request, "Manage your own second factors on your account page.")
        return redirect("console:user-detail", pk=user.pk)
    if request.method == "POST":
        done = perform(
            request,
            mfa_services.authenticators_reset,
            guard=writing(user),
            user=user,
        )
        if done.refused is None:
            if done.value:
                messages.success(request, f"Second factors of {user.username} removed.")
            else:
                messages.info(request, f"{user.username} had no second factor.")
        return redirect("console:user-detail", pk=user.pk)
    context = {"subject": user, "factors": mfa_selectors.authenticators_of(user)}
    return render(request, "console/users/confirm_mfa_reset.html", context)
