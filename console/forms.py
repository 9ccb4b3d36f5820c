"""Console forms: parse and validate input; the services decide and write."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.utils import timezone

from audit.models import AuditEvent
from oauth import selectors as oauth_selectors
from oauth import services as client_services
from oauth.api_services import MAX_LIFETIME
from oauth.models import AUTH_METHODS, GRANT_TYPES, TLS_CLIENT_FIELDS, Api, Client
from roles.models import Group, Role

LOCAL_INPUT = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> shows and sends


class ConsoleForm(forms.Form):
    """Labels without Django's trailing colon (the stylesheet sets labels apart)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


def lines(text: str) -> list[str]:
    """Non-empty lines (or whitespace-separated words) of a textarea, in order, de-duplicated."""
    return list(dict.fromkeys(text.split()))


class ReauthForm(ConsoleForm):
    code = forms.CharField(
        label="Code from your authenticator app",
        max_length=64,
        strip=True,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
        help_text="The 6-digit code, or one of your recovery codes.",
    )


class UserEditForm(ConsoleForm):
    name = forms.CharField(label="Display name", max_length=255, required=False)
    email = forms.EmailField(required=False)


class UserCreateForm(ConsoleForm):
    username = forms.CharField(max_length=150)
    email = forms.EmailField(required=False)
    name = forms.CharField(label="Display name", max_length=255, required=False)
    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 12 characters; common passwords are refused.",
    )


class PasswordResetForm(ConsoleForm):
    password = forms.CharField(
        label="New password",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 12 characters. The user's sessions and tokens end at once.",
    )
    confirm = forms.CharField(
        label="New password again",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("password") and data.get("password") != data.get("confirm"):
            self.add_error("confirm", "The two passwords differ.")
        return data


class RoleChoiceField(forms.ModelMultipleChoiceField):
    """Checkboxes of roles (or of ``model``'s rows: groups), chosen and labelled by name."""

    def __init__(self, model: type[Role | Group] = Role, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("to_field_name", "name")
        kwargs.setdefault("widget", forms.CheckboxSelectMultiple)
        super().__init__(queryset=model.objects.order_by("name"), **kwargs)

    def label_from_instance(self, obj: Role | Group) -> str:
        return obj.name


class UserRolesForm(ConsoleForm):
    roles = RoleChoiceField(label="Roles held directly")


class AssignmentForm(ConsoleForm):
    """Give one role, until a time or for good (or take it away: the ``remove`` button)."""

    role = forms.ModelChoiceField(
        queryset=Role.objects.order_by("name"), to_field_name="name", empty_label="(choose)"
    )
    expires_at = forms.DateTimeField(
        label="Until (UTC)",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_INPUT),
        help_text="Empty: until taken away. An assignment held already gets this expiry.",
    )

    def clean_expires_at(self) -> Any:
        expires_at = self.cleaned_data["expires_at"]
        if expires_at is not None and expires_at <= timezone.now():
            raise forms.ValidationError("Must be in the future.")
        return expires_at


class RoleForm(ConsoleForm):
    name = forms.CharField(max_length=100)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    parents = RoleChoiceField(label="Inherits from (parents)")
    permissions = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        help_text="One per line: a named permission such as orders:read, "
        "or an endpoint rule such as GET /api/orders/**.",
    )
    require_mfa = forms.BooleanField(
        label="Holders must sign in with a second factor", required=False
    )

    def __init__(self, *args: Any, role: Role | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.role = role
        if role is not None:
            self.fields["name"].required = False  # empty: keeps the name it has
            self.fields["name"].help_text = (
                "Renaming keeps its holders, parents and children; policies, tokens and apply "
                "files that name it must follow."
            )
            self.fields["parents"].queryset = Role.objects.exclude(pk=role.pk).order_by("name")

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        return name if name or self.role is None else self.role.name

    def clean_permissions(self) -> list[str]:
        return [
            line.strip() for line in self.cleaned_data["permissions"].splitlines() if line.strip()
        ]


class GroupForm(ConsoleForm):
    name = forms.CharField(max_length=100)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    parents = RoleChoiceField(
        Group,
        label="Inside (parent groups)",
        help_text="Members also get the roles of every group this one is inside.",
    )
    roles = RoleChoiceField(label="Roles its members get")

    def __init__(self, *args: Any, group: Group | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if group is not None:
            self.fields["parents"].queryset = Group.objects.exclude(pk=group.pk).order_by("name")


class GroupMemberForm(ConsoleForm):
    username = forms.CharField(max_length=150, label="Add a member (username)")


class UserGroupsForm(ConsoleForm):
    groups = RoleChoiceField(Group, label="Member of")


AUTH_LABELS = {
    "client_secret_basic": "Client secret, HTTP Basic (client_secret_basic)",
    "client_secret_post": "Client secret in the form body (client_secret_post)",
    "private_key_jwt": "Signed JWT with its own key (private_key_jwt)",
    "tls_client_auth": "TLS client certificate from our CA (tls_client_auth)",
    "self_signed_tls_client_auth": "Self-signed TLS client certificate in its JWKS "
    "(self_signed_tls_client_auth)",
    "none": "None: a public client (PKCE)",
}

GRANT_LABELS = {
    "authorization_code": "Authorization code (browser sign-in, with PKCE)",
    "refresh_token": "Refresh token",
    "client_credentials": "Client credentials (machine to machine)",
    "urn:ietf:params:oauth:grant-type:device_code": "Device code",
}


def text_lines(text: str) -> list[str]:
    """The non-empty lines of a textarea, stripped, in order, de-duplicated (a line with a
    space in it stays one value, for the validation to refuse)."""
    return list(dict.fromkeys(line.strip() for line in text.splitlines() if line.strip()))


def uri_lines(label: str, help_text: str) -> forms.CharField:
    return forms.CharField(
        label=label, widget=forms.Textarea(attrs={"rows": 3}), required=False, help_text=help_text
    )


class ClientForm(ConsoleForm):
    """Every field of a client. The checks are ``oauth.services.client_errors``, the same as
    ``apply`` and the management API run, all shown at once beside their fields."""

    client_id = forms.CharField(
        label="Client ID",
        required=False,
        max_length=100,
        help_text="Optional: letters, digits and . _ ~ - (one is generated when empty). "
        "It cannot change later.",
    )
    name = forms.CharField(max_length=255)
    type = forms.ChoiceField(
        label="Client type",
        choices=[
            (Client.CLIENT_CONFIDENTIAL, "Confidential (has a secret)"),
            (Client.CLIENT_PUBLIC, "Public (native or single-page app, PKCE only)"),
        ],
    )
    token_endpoint_auth_method = forms.ChoiceField(
        label="Authentication method",
        required=False,
        choices=[("", "The type's default"), *((m, AUTH_LABELS[m]) for m in AUTH_METHODS)],
        help_text="How it proves itself at the token endpoint. A new secret is shown once "
        "when the method needs one.",
    )
    jwks = forms.CharField(
        label="JWKS (for private_key_jwt, self_signed_tls_client_auth)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text='Its public keys as a JSON Web Key Set: {"keys": [...]}.',
    )
    jwks_uri = forms.CharField(
        label="JWKS URI (for private_key_jwt, self_signed_tls_client_auth)",
        required=False,
        max_length=200,
        help_text="Or where this server fetches its public keys (https).",
    )
    tls_client_auth_subject_dn = forms.CharField(
        label="Certificate subject DN (for tls_client_auth)",
        required=False,
        max_length=500,
        help_text="RFC 4514, e.g. CN=orders,O=Example. Set exactly one of the subject DN and "
        "the four SAN fields.",
    )
    tls_client_auth_san_dns = forms.CharField(
        label="Certificate SAN: DNS host", required=False, max_length=253
    )
    tls_client_auth_san_uri = forms.CharField(
        label="Certificate SAN: URI", required=False, max_length=500
    )
    tls_client_auth_san_ip = forms.CharField(
        label="Certificate SAN: IP address", required=False, max_length=45
    )
    tls_client_auth_san_email = forms.CharField(
        label="Certificate SAN: e-mail address", required=False, max_length=254
    )
    tls_client_certificate_bound_access_tokens = forms.BooleanField(
        label="Tokens only bound to the app's TLS client certificate (mTLS)",
        required=False,
        help_text="RFC 8705: every token request comes over mutual TLS, and the token works "
        "only with the same certificate.",
    )
    grant_types = forms.MultipleChoiceField(
        choices=[(g, GRANT_LABELS[g]) for g in GRANT_TYPES], widget=forms.CheckboxSelectMultiple
    )
    redirect_uris = uri_lines(
        "Redirect URIs", "One per line; https, or http on 127.0.0.1 for native apps. Exact match."
    )
    post_logout_redirect_uris = uri_lines(
        "Post-logout redirect URIs", "One per line, where it may send people after signing out."
    )
    scopes = forms.MultipleChoiceField(
        label="Allowed scopes",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="The OpenID Connect scopes and those of the registered APIs.",
    )
    resources = forms.MultipleChoiceField(
        label="APIs it may obtain tokens for",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="The registered APIs (RFC 8707 resources) its tokens may be issued for.",
    )
    access_token_lifetime = forms.IntegerField(
        label="Access token lifetime (seconds)",
        required=False,
        help_text="Optional: empty for the server's default.",
    )
    skip_consent = forms.BooleanField(
        label="First-party app: skip the consent page", required=False
    )
    require_mfa = forms.BooleanField(
        label="People must sign in with a second factor to use it", required=False
    )
    require_verified_email = forms.BooleanField(
        label="People must have confirmed their e-mail address to use it", required=False
    )
    backchannel_logout_uri = forms.URLField(
        label="Back-channel logout URI",
        required=False,
        help_text="Where a signed logout token is posted when a person's session ends here.",
    )
    backchannel_logout_session_required = forms.BooleanField(
        label="Logout tokens must carry the session id (sid)", required=False
    )
    profile = forms.ChoiceField(
        label="Security profile",
        required=False,
        choices=[
            ("", "none"),
            ("fapi2", "FAPI 2.0 (PAR, DPoP or mTLS, private_key_jwt or mTLS, ES256)"),
        ],
        help_text="FAPI 2.0 Security Profile: the server enforces its rules for this app.",
    )
    dpop_bound_access_tokens = forms.BooleanField(
        label="Tokens only bound to the app's key (DPoP)",
        required=False,
        help_text="RFC 9449: every token request carries a DPoP proof; a stolen token is "
        "useless without the key.",
    )
    require_pushed_authorization_requests = forms.BooleanField(
        label="Authorization requests only through the pushed request endpoint (PAR)",
        required=False,
        help_text="RFC 9126: the app posts its request to /o/par/ first; required by FAPI 2.0.",
    )

    def __init__(self, *args: Any, client: Client | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.client = client
        if client is not None:
            self.fields["type"].disabled = True
            del self.fields["client_id"]
        held = client.allowed_scopes if client is not None else []
        self.fields["scopes"].choices = [(s, s) for s in oauth_selectors.known_scopes(held)]
        self.fields["resources"].choices = [
            (api.identifier, f"{api.name} ({api.identifier})")
            for api in Api.objects.order_by("-builtin", "name", "identifier")
        ]

    def clean_jwks(self) -> Any:
        raw = self.cleaned_data["jwks"].strip()
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise forms.ValidationError("Not valid JSON.") from None

    def clean(self) -> dict[str, Any]:
        """The shared client checks over what parsed (a field Django refused keeps its own
        message), so every error shows at once."""
        data = super().clean()
        for field, messages in client_services.client_errors(
            self.spec(), client=self.client
        ).items():
            if field not in self.errors:
                self.add_error(field if field in self.fields else None, messages)
        return data

    def spec(self) -> dict[str, Any]:
        """The ``oauth.services`` client spec of the fields that parsed. An edit leaves the
        type out, and so does an empty authentication method: either would reset the method
        (and so the secret) to the type's default."""
        data = dict(self.cleaned_data)
        for name in ("redirect_uris", "post_logout_redirect_uris"):
            if name in data:
                data[name] = text_lines(data[name])
        optional = ["client_id", "token_endpoint_auth_method"]
        if self.client is not None:
            optional.append("type")
        for name in optional:
            if not data.get(name) or self.fields[name].disabled:
                data.pop(name, None)
        return data

    @staticmethod
    def initial_for(client: Client) -> dict[str, Any]:
        return {
            "name": client.name,
            "type": client.client_type,
            "token_endpoint_auth_method": client.token_endpoint_auth_method,
            "jwks": json.dumps(client.jwks, indent=2) if client.jwks else "",
            "jwks_uri": client.jwks_uri,
            "grant_types": client.grant_types,
            "redirect_uris": "\n".join(client.redirect_uris.split()),
            "post_logout_redirect_uris": "\n".join(client.post_logout_redirect_uris.split()),
            "scopes": client.allowed_scopes,
            "resources": client.resources,
            "access_token_lifetime": client.access_token_lifetime,
            "skip_consent": client.skip_authorization,
            "require_mfa": client.require_mfa,
            "require_verified_email": client.require_verified_email,
            "require_pushed_authorization_requests": client.require_pushed_authorization_requests,
            "backchannel_logout_uri": client.backchannel_logout_uri,
            "backchannel_logout_session_required": client.backchannel_logout_session_required,
            "dpop_bound_access_tokens": client.dpop_bound_access_tokens,
            "profile": client.profile,
            **{field: getattr(client, field) for field in TLS_CLIENT_FIELDS},
        }


class ApiForm(ConsoleForm):
    identifier = forms.CharField(
        max_length=255,
        help_text="An absolute URI, e.g. https://orders.example.com/: the audience (aud) of "
        "the tokens issued for it, and the resource clients ask for.",
    )
    name = forms.CharField(max_length=100)
    client = forms.ModelChoiceField(
        queryset=Client.objects.order_by("client_id"),
        to_field_name="client_id",
        required=False,
        empty_label="(none)",
        help_text="The client whose credentials the API presents at introspection and AuthZEN.",
    )
    scopes = forms.CharField(
        required=False, help_text="The scopes it defines, separated by spaces."
    )
    access_token_lifetime = forms.IntegerField(
        label="Access token lifetime (seconds)",
        required=False,
        min_value=1,
        max_value=MAX_LIFETIME,
        help_text="Optional: tokens for this API live at most this long.",
    )

    def __init__(self, *args: Any, api: Api | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if api is not None and api.builtin:  # only its name and lifetime change
            for name in ("identifier", "client", "scopes"):
                self.fields[name].disabled = True

    def spec(self) -> dict[str, Any]:
        """The ``oauth.api_services`` spec: the fields that can change."""
        data = self.cleaned_data
        values = {
            "identifier": data["identifier"],
            "name": data["name"],
            "client": data["client"].client_id if data["client"] is not None else None,
            "scopes": lines(data["scopes"]),
            "access_token_lifetime": data["access_token_lifetime"],
        }
        return {k: v for k, v in values.items() if not self.fields[k].disabled}

    @staticmethod
    def initial_for(api: Api) -> dict[str, Any]:
        return {
            "identifier": api.identifier,
            "name": api.name,
            "client": api.client.client_id if api.client is not None else None,
            "scopes": " ".join(api.scopes),
            "access_token_lifetime": api.access_token_lifetime,
        }


class ApiKeyFilterForm(ConsoleForm):
    owner = forms.CharField(
        label="Owner", required=False, max_length=150, help_text="A username or client id."
    )


class ApiKeyForm(ConsoleForm):
    owner_type = forms.ChoiceField(
        label="Belongs to", choices=[("user", "A user"), ("client", "A service (client)")]
    )
    owner = forms.CharField(
        label="Owner", max_length=150, help_text="The user's username or the client's client id."
    )
    name = forms.RegexField(
        regex=r"^[A-Za-z0-9 ._:-]{1,100}$",
        max_length=100,
        error_messages={"invalid": "Letters, digits, spaces and . _ : - only."},
        help_text="Unique among the owner's live keys, e.g. ci-deploy.",
    )
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    roles = RoleChoiceField(
        label="Roles",
        help_text="What the key may do: these roles, within what its owner may do at the time.",
    )
    expires_at = forms.DateTimeField(
        label="Expires (UTC)",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_INPUT),
        help_text="Leave empty for a key that never expires (not recommended).",
    )


class AuditFilterForm(ConsoleForm):
    actor = forms.CharField(label="Actor or target", required=False, max_length=255)
    event = forms.CharField(
        label="Event",
        required=False,
        max_length=64,
        help_text="A name or prefix, e.g. role.",
        widget=forms.TextInput(attrs={"list": "event-names"}),
    )
    outcome = forms.ChoiceField(
        choices=[("", "Any outcome"), *AuditEvent.Outcome.choices], required=False
    )
    since = forms.DateTimeField(
        label="From (UTC)",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_INPUT),
    )
    until = forms.DateTimeField(
        label="Until (UTC)",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_INPUT),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since >= until:
            self.add_error("until", "Must be later than the start.")
        return data

    def filters(self) -> dict[str, Any]:
        """The valid filters (an invalid form filters nothing: its errors are shown)."""
        if not self.is_valid():
            return {}
        return {k: v for k, v in self.cleaned_data.items() if v not in ("", None)}


class InvitationForm(ConsoleForm):
    email = forms.EmailField(label="E-mail address", max_length=254)
    roles = RoleChoiceField(label="Roles", help_text="What the new account holds once accepted.")
    groups = RoleChoiceField(
        Group, label="Groups", help_text="What the new account is a member of once accepted."
    )
