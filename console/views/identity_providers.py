"""Upstream identity providers: the list, create/edit (showing the redirect URI to register
at the upstream), delete. The user permissions (``users:read`` / ``users:write``), as in the
management API; the client secret is write-only (left empty, it stays as it is)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from console import access
from console.forms import ConsoleForm, lines
from console.views.common import perform
from federation import config, flows, services
from federation.models import IdentityProvider

RULE_HELP = (
    "One rule a line: claim=value -> role role | group group (e.g. groups=platform-admins -> "
    "admin | operators; the part after | names local groups and may be left out). At every "
    "sign-in each role named here is held, and each group joined, exactly when one of its rules "
    "matches."
)


def parse_rules(text: str) -> list[dict[str, Any]]:
    rules = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match, arrow, given = line.partition("->")
        claim, equals, value = match.partition("=")
        roles, _, groups = given.partition("|")
        if (
            not arrow
            or not equals
            or not claim.strip()
            or not value.strip()
            or not (roles.split() or groups.split())
        ):
            raise forms.ValidationError(
                f"Line {number}: write claim=value -> role role | group group."
            )
        rule: dict[str, Any] = {"claim": claim.strip(), "value": value.strip()}
        rule["roles"] = roles.split()
        if groups.split():
            rule["groups"] = groups.split()
        rules.append(rule)
    return rules


def _rule_text(rule: dict[str, Any]) -> str:
    text = f"{rule['claim']}={rule['value']} -> {' '.join(rule['roles'])}"
    if rule.get("groups"):
        text = f"{text.rstrip()} | {' '.join(rule['groups'])}"
    return text


def rules_text(rules: list[dict[str, Any]]) -> str:
    return "\n".join(_rule_text(r) for r in rules)


class ProviderForm(ConsoleForm):
    slug = forms.SlugField(
        max_length=50, help_text="In the sign-in URL: /accounts/login/<slug>/. Never changes."
    )
    name = forms.CharField(max_length=100, help_text="On the sign-in button.")
    kind = forms.ChoiceField(choices=IdentityProvider.Kind.choices)
    issuer = forms.CharField(
        max_length=500,
        required=False,
        help_text="OpenID Connect: the issuer (discovery at <issuer>/.well-known/"
        "openid-configuration); Google and GitLab.com need none; GitHub: empty, or a GitHub "
        "Enterprise Server URL.",
    )
    client_id = forms.CharField(max_length=255)
    client_secret = forms.CharField(
        max_length=1000,
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Stored encrypted and never shown; leave empty to keep the current one.",
    )
    token_endpoint_auth_method = forms.ChoiceField(
        choices=IdentityProvider.AuthMethod.choices, label="Client authentication"
    )
    scopes = forms.CharField(
        required=False, help_text="Separated by spaces; empty: the kind's usual ones."
    )
    link_by = forms.ChoiceField(
        choices=IdentityProvider.LinkBy.choices,
        help_text="verified e-mail: an upstream account whose e-mail it says is verified signs "
        "in as the one local user with that e-mail.",
    )
    provision = forms.BooleanField(required=False, label="Create a local user at the first sign-in")
    trust_mfa = forms.BooleanField(
        required=False, label="Trust the upstream's second factor (its amr/acr)"
    )
    role_mapping = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}), required=False, help_text=RULE_HELP
    )
    exclusive_clients = forms.CharField(
        required=False,
        help_text="client_ids whose users sign in only through upstream providers (no password "
        "form), separated by spaces.",
    )
    enabled = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args: Any, provider: IdentityProvider | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.provider = provider
        if provider is not None:
            self.fields["slug"].disabled = True

    def clean_role_mapping(self) -> list[dict[str, Any]]:
        return parse_rules(self.cleaned_data["role_mapping"])

    def spec(self) -> dict[str, Any]:
        data = self.cleaned_data
        spec = {
            "name": data["name"],
            "kind": data["kind"],
            "issuer": data["issuer"].strip(),
            "client_id": data["client_id"],
            "token_endpoint_auth_method": data["token_endpoint_auth_method"],
            "scopes": lines(data["scopes"]),
            "link_by": data["link_by"],
            "provision": data["provision"],
            "trust_mfa": data["trust_mfa"],
            "role_mapping": data["role_mapping"],
            "exclusive_clients": lines(data["exclusive_clients"]),
            "enabled": data["enabled"],
        }
        if self.provider is None:
            spec["slug"] = data["slug"]
        if data["client_secret"]:
            spec["client_secret"] = data["client_secret"]
        return spec

    @staticmethod
    def initial_for(provider: IdentityProvider) -> dict[str, Any]:
        """The provider's apply entry, its lists as the form's text."""
        initial = config.export_entry(provider)
        initial.update(
            scopes=" ".join(provider.scopes),
            role_mapping=rules_text(provider.role_mapping),
            exclusive_clients=" ".join(provider.exclusive_clients),
        )
        return initial


@access.console_view(access.USERS_READ)
def provider_list(request: HttpRequest) -> HttpResponse:
    providers = IdentityProvider.objects.order_by("name")
    rows = [(p, flows.redirect_uri(p), p.links.count()) for p in providers]
    return render(request, "console/identity_providers/list.html", {"rows": rows})


def _save(request: HttpRequest, provider: IdentityProvider | None) -> HttpResponse:
    initial = ProviderForm.initial_for(provider) if provider else {"enabled": True}
    form = ProviderForm(request.POST or None, initial=initial, provider=provider)
    if request.method == "POST" and form.is_valid():
        if provider is None:
            done = perform(request, services.provider_create, form=form, spec=form.spec())
            provider = done.value
        else:
            done = perform(
                request, services.provider_update, form=form, provider=provider, spec=form.spec()
            )
        if done.refused is None:
            messages.success(request, f"Identity provider {provider.name} saved.")
            return redirect("console:identity-provider-edit", provider.slug)
    context = {
        "form": form,
        "provider": provider,
        "redirect_uri": flows.redirect_uri(provider) if provider else None,
        "logout_uri": flows.post_logout_uri(provider) if provider else None,
    }
    return render(request, "console/identity_providers/form.html", context)


@require_http_methods(["GET", "POST"])
@access.console_view(access.USERS_WRITE)
def provider_create(request: HttpRequest) -> HttpResponse:
    return _save(request, None)


@require_http_methods(["GET", "POST"])
@access.console_view(access.USERS_WRITE)
def provider_edit(request: HttpRequest, slug: str) -> HttpResponse:
    return _save(request, get_object_or_404(IdentityProvider, slug=slug))


@require_http_methods(["GET", "POST"])
@access.console_view(access.USERS_WRITE)
def provider_delete(request: HttpRequest, slug: str) -> HttpResponse:
    provider = get_object_or_404(IdentityProvider, slug=slug)
    error = None
    if request.method == "POST":
        error = perform(request, services.provider_delete, message=False, provider=provider).refused
        if error is None:
            messages.success(request, f"Identity provider {provider.name} deleted.")
            return redirect("console:identity-provider-list")
    context = {"provider": provider, "links": provider.links.count(), "error": error}
    return render(
        request, "console/identity_providers/delete.html", context, status=400 if error else 200
    )
