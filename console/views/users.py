from __future__ import annotations

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
from console.views.common import REFUSED, add_errors, refusal_text, searched
from core.request_meta import request_meta
from mfa import selectors as mfa_selectors
from mfa import services as mfa_services
from oauth import services as oauth_services
from roles import group_services
from roles import selectors as role_selectors
from roles import services as role_services
from roles.access import acting, require_user_write
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
        try:
            user = account_services.user_create(
                actor=acting(access.principal(request)),
                meta=request_meta(request),
                **form.cleaned_data,
            )
        except REFUSED as exc:
            add_errors(form, exc)
        else:
            messages.success(request, f"User {user.username} created.")
            return redirect("console:user-detail", pk=user.pk)
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
        "sessions": selectors.live_sessions(selectors.now(), user),
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
        actor = access.principal(request)
        try:
            require_user_write(actor, user)
            role_services.user_roles_replace(
                actor=acting(actor), meta=request_meta(request), user=user, roles=names
            )
        except REFUSED as exc:
            add_errors(form, exc)
        else:
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
        actor = access.principal(request)
        try:
            require_user_write(actor, user)
            group_services.user_groups_set(
                actor=acting(actor),
                meta=request_meta(request),
                user=user,
                groups=[g.name for g in form.cleaned_data["groups"]],
            )
        except REFUSED as exc:
            add_errors(form, exc)
        else:
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
    actor = access.principal(request)

    def change(**assignment: object) -> None:
        require_user_write(actor, user)
        role_services.user_role_set(
            actor=acting(actor), meta=request_meta(request), user=user, **assignment
        )

    done = change_assignment(
        request, form, change=change, holder=user.username, done="console:user-detail", pk=pk
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
        actor = access.principal(request)
        try:
            require_user_write(actor, user)
            account_services.user_update(
                actor=acting(actor), meta=request_meta(request), user=user, **form.cleaned_data
            )
        except REFUSED as exc:
            user.refresh_from_db()
            add_errors(form, exc)
        else:
            messages.success(request, f"User {user.username} saved.")
            return redirect("console:user-detail", pk=user.pk)
    return render(request, "console/users/edit.html", {"form": form, "subject": user})


@require_http_methods(["GET", "POST"])
@access.console_view(access.USERS_WRITE)
@access.asks_fresh_factor
def user_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm (saying how many live tokens end), then delete the user; never oneself."""
    user = get_object_or_404(User, pk=pk)
    if user.pk == request.user.pk:
        messages.error(request, "You cannot delete your own account.")
        return redirect("console:user-detail", pk=user.pk)
    if request.method == "POST":
        actor = access.principal(request)
        try:
            require_user_write(actor, user)
            account_services.user_delete(actor=acting(actor), meta=request_meta(request), user=user)
        except REFUSED as exc:
            messages.error(request, refusal_text(exc))
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
        actor = access.principal(request)
        try:
            require_user_write(actor, user)
            oauth_services.user_set_active(
                actor=acting(actor),
                meta=request_meta(request),
                user=user,
                active=not user.is_active,
            )
        except REFUSED as exc:
            messages.error(request, refusal_text(exc))
        else:
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
        actor = access.principal(request)
        try:
            require_user_write(actor, user)
            oauth_services.user_set_password(
                actor=acting(actor),
                meta=request_meta(request),
                user=user,
                password=form.cleaned_data["password"],
            )
        except REFUSED as exc:
            add_errors(form, exc)
        else:
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
        actor = access.principal(request)
        try:
            require_user_write(actor, user)
            removed = mfa_services.authenticators_reset(
                actor=acting(actor), meta=request_meta(request), user=user
            )
        except REFUSED as exc:
            messages.error(request, refusal_text(exc))
        else:
            if removed:
                messages.success(request, f"Second factors of {user.username} removed.")
            else:
                messages.info(request, f"{user.username} had no second factor.")
        return redirect("console:user-detail", pk=user.pk)
    context = {"subject": user, "factors": mfa_selectors.authenticators_of(user)}
    return render(request, "console/users/confirm_mfa_reset.html", context)
