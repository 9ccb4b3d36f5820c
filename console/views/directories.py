"""LDAP / Active Directory directories: the list, one directory (its linked users, a connection
test, a sync now), add, edit, delete.

Reading them takes ``users:read`` and ``roles:read``; changing them ``users:write`` and
``roles:write`` (a directory provisions users and hands out the roles its groups map to, and
``directory.services`` also asks for a fresh second factor and every permission of the mapped
roles). Every write goes through ``directory.services`` (validated, audited).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from console import access
from console.forms import ConsoleForm
from console.views.common import perform
from core.request_meta import request_meta
from directory import services
from directory.models import Directory
from roles.access import ROLES_READ, ROLES_WRITE, USERS_READ, USERS_WRITE

READ = (USERS_READ, ROLES_READ)
WRITE = (USERS_WRITE, ROLES_WRITE)
MODEL_FIELDS = [
    f for f in services.SPEC_FIELDS if f not in ("urls", "role_mapping", "bind_password")
]


def _rule_text(rule: dict[str, Any]) -> str:
    text = f"{rule['group']} = {', '.join(rule.get('roles', []))}"
    if rule.get("groups"):
        text = f"{text.rstrip()} | {', '.join(rule['groups'])}"
    return text


def _mapping_text(mapping: list[dict[str, Any]]) -> str:
    return "\n".join(_rule_text(rule) for rule in mapping)


def _mapping_of(text: str) -> list[dict[str, Any]]:
    rules = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        group, sep, given = line.partition("=")
        roles, _, groups = given.partition("|")
        names = [r.strip() for r in roles.split(",") if r.strip()]
        local = [g.strip() for g in groups.split(",") if g.strip()]
        if not sep or not group.strip() or not (names or local):
            raise forms.ValidationError(
                f"line {number}: write it as: group = role, role | local group, local group"
            )
        rule: dict[str, Any] = {"group": group.strip(), "roles": names}
        if local:
            rule["groups"] = local
        rules.append(rule)
    return rules


class DirectoryForm(ConsoleForm):
    """The directory's fields as ``directory.services`` takes them; the whole spec is checked
    by ``services.directory_errors`` (every field's reasons at once, nothing written)."""

    slug = forms.SlugField(
        max_length=64, help_text="Names the directory in logs and the audit log."
    )
    urls = forms.CharField(
        label="Server URLs",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="ldap:// or ldaps:// URLs, one a line, tried in order.",
    )
    bind_password = forms.CharField(
        label="Service account password",
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="Stored encrypted and never shown; leave empty to keep the stored one.",
    )
    role_mapping = forms.CharField(
        label="Group → roles and groups",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One a line: a group's name (cn) or DN = roles, separated by commas, then "
        "optionally | local groups, separated by commas. Mapped roles and group memberships are "
        "added and removed at each sign-in and sync; other roles and groups are left alone.",
    )

    def __init__(self, *args: Any, directory: Directory | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.directory = directory
        for name, field in forms.fields_for_model(Directory, fields=MODEL_FIELDS).items():
            self.fields[name] = field
        order = ["slug", "name", "enabled", "urls", *MODEL_FIELDS[2:], "role_mapping"]
        order.insert(order.index("bind_dn") + 1, "bind_password")
        self.order_fields(order)
        if directory is not None:
            self.fields["slug"].disabled = True
            self.fields["slug"].required = False

    @staticmethod
    def initial_for(directory: Directory) -> dict[str, Any]:
        initial = {name: getattr(directory, name) for name in MODEL_FIELDS}
        initial.update(
            slug=directory.slug,
            urls="\n".join(directory.urls),
            role_mapping=_mapping_text(directory.role_mapping),
        )
        return initial

    def clean_urls(self) -> list[str]:
        return list(dict.fromkeys(self.cleaned_data["urls"].split()))

    def clean_role_mapping(self) -> list[dict[str, Any]]:
        return _mapping_of(self.cleaned_data["role_mapping"])

    def spec(self) -> dict[str, Any]:
        spec = {name: self.cleaned_data[name] for name in services.SPEC_FIELDS}
        if self.directory is not None and not spec["bind_password"]:
            del spec["bind_password"]  # kept
        return spec

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not self.errors:
            slug = self.directory.slug if self.directory else cleaned["slug"]
            errors = services.directory_errors(self.spec(), directory=self.directory, slug=slug)
            for name, reasons in errors.items():
                self.add_error(name if name in self.fields else None, reasons)
        return cleaned


@access.console_view(READ)
def directory_list(request: HttpRequest) -> HttpResponse:
    rows = Directory.objects.order_by("slug")
    return render(request, "console/directories/list.html", {"directories": rows})


@access.console_view(READ)
def directory_detail(request: HttpRequest, pk: int) -> HttpResponse:
    directory = get_object_or_404(Directory, pk=pk)
    links = directory.links.select_related("user").order_by("user__username")[:200]
    context = {"directory": directory, "links": links, "linked": directory.links.count()}
    return render(request, "console/directories/detail.html", context)


def _save(request: HttpRequest, directory: Directory | None) -> HttpResponse:
    initial = DirectoryForm.initial_for(directory) if directory else {}
    form = DirectoryForm(request.POST or None, initial=initial, directory=directory)
    if request.method == "POST" and form.is_valid():
        if directory is None:
            done = perform(
                request,
                services.directory_create,
                form=form,
                slug=form.cleaned_data["slug"],
                spec=form.spec(),
            )
            directory = done.value
        else:
            done = perform(
                request, services.directory_update, form=form, directory=directory, spec=form.spec()
            )
        if done.refused is None:
            messages.success(request, f"Directory {directory.slug} saved.")
            return redirect("console:directory-detail", directory.pk)
    status = 400 if form.errors else 200
    context = {"form": form, "directory": directory}
    return render(request, "console/directories/form.html", context, status=status)


@require_http_methods(["GET", "POST"])
@access.console_view(WRITE)
def directory_create(request: HttpRequest) -> HttpResponse:
    return _save(request, None)


@require_http_methods(["GET", "POST"])
@access.console_view(WRITE)
def directory_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _save(request, get_object_or_404(Directory, pk=pk))


@require_POST
@access.console_view(WRITE)
def directory_test(request: HttpRequest, pk: int) -> HttpResponse:
    """Connect and bind with the stored settings: what worked, or why not."""
    from directory import client  # ldap3 loads only where a directory is asked

    directory = get_object_or_404(Directory, pk=pk)
    try:
        messages.success(request, f"{directory.slug}: {client.probe(directory)}.")
    except client.Unreachable as exc:
        messages.error(request, f"{directory.slug}: cannot reach the directory: {exc}")
    return redirect("console:directory-detail", directory.pk)


@require_POST
@access.console_view(WRITE)
def directory_sync(request: HttpRequest, pk: int) -> HttpResponse:
    directory = get_object_or_404(Directory, pk=pk)
    result = services.sync_directory(directory, meta=request_meta(request))
    if result.error:
        messages.error(request, f"{directory.slug}: sync failed, nobody disabled: {result.error}")
    else:
        messages.success(
            request, f"{directory.slug}: {result.checked} checked, {result.disabled} disabled."
        )
    return redirect("console:directory-detail", directory.pk)


@require_http_methods(["GET", "POST"])
@access.console_view(WRITE)
def directory_delete(request: HttpRequest, pk: int) -> HttpResponse:
    directory = get_object_or_404(Directory, pk=pk)
    error = None
    if request.method == "POST":
        error = perform(
            request, services.directory_delete, message=False, directory=directory
        ).refused
        if error is None:
            messages.success(request, f"Directory {directory.slug} deleted.")
            return redirect("console:directory-list")
    context = {"directory": directory, "linked": directory.links.count(), "error": error}
    return render(request, "console/directories/delete.html", context, status=400 if error else 200)
