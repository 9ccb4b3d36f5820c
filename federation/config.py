"""The ``identity_providers`` section of ``manage.py apply``.

    identity_providers:
      - slug: corp                      # /accounts/login/corp/
        name: Corp SSO
        kind: oidc                      # oidc | github | gitlab | google | microsoft
        issuer: https://login.corp.example/
        client_id: authserver
        client_secret: "..."            # write-only: never exported
        token_endpoint_auth_method: client_secret_basic   # or client_secret_post, private_key_jwt
        scopes: [openid, email, profile]
        link_by: verified_email         # or none
        provision: true
        trust_mfa: false
        role_mapping:
          - {claim: groups, value: platform-admins, roles: [admin], groups: [operators]}
        exclusive_clients: [wiki]       # these clients' users sign in only upstream

Applied after roles and groups (a mapping names them), through ``federation.services`` with
the file's actor; an entry's secret is set only when the file names one.
"""

from __future__ import annotations

from typing import Any

from core.declarative import Result, Section, add_section, boolean, choice, string_list, text
from federation import mapping, services
from federation.models import IdentityProvider

SCHEMA = {
    "slug": text,
    "name": text,
    "kind": choice(*IdentityProvider.Kind.values),
    "issuer": services.clean_issuer,
    "client_id": text,
    "client_secret": text,
    "token_endpoint_auth_method": choice(*IdentityProvider.AuthMethod.values),
    "scopes": string_list,
    "link_by": choice(*IdentityProvider.LinkBy.values),
    "provision": boolean,
    "trust_mfa": boolean,
    "role_mapping": mapping.clean_rules,
    "exclusive_clients": string_list,
    "enabled": boolean,
}


def apply_providers(entries: list[dict[str, Any]], result: Result) -> None:
    for entry in entries:
        provider = IdentityProvider.objects.filter(slug=entry["slug"]).first()
        if provider is None:
            services.provider_create(actor=result.actor, meta=result.meta, spec=entry)
            result.changes.append(f"created identity provider {entry['slug']}")
        elif services.provider_update(
            actor=result.actor, meta=result.meta, provider=provider, spec=entry
        ):
            result.changes.append(f"updated identity provider {entry['slug']}")


def export_entry(provider: IdentityProvider) -> dict[str, Any]:
    """A provider as its apply entry, without its secret."""
    return {
        "slug": provider.slug,
        "name": provider.name,
        "kind": provider.kind,
        "issuer": provider.issuer,
        "client_id": provider.client_id,
        "token_endpoint_auth_method": provider.token_endpoint_auth_method,
        "scopes": list(provider.scopes),
        "link_by": provider.link_by,
        "provision": provider.provision,
        "trust_mfa": provider.trust_mfa,
        "role_mapping": list(provider.role_mapping),
        "exclusive_clients": list(provider.exclusive_clients),
        "enabled": provider.enabled,
    }


def export_providers() -> list[dict[str, Any]]:
    return [export_entry(p) for p in IdentityProvider.objects.order_by("slug")]


def register() -> None:
    add_section(
        Section("identity_providers", SCHEMA, "slug", apply_providers, export=export_providers)
    )
