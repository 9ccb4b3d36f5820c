"""Writes of the federation app, each audited in its own transaction.

Providers (``provider_create``/``provider_update``/``provider_delete``): a spec names the fields
to set (``SPEC_FIELDS``); the ones it leaves out keep their values. ``client_secret`` is
write-only: stored encrypted (Fernet, ``core.crypto``), never exported, listed or audited.
Every change needs the actor's fresh second factor (a provider decides who may sign in as whom).

Identities: ``link``/``unlink`` (``federation.linked``/``federation.unlinked``), ``provision``
(a new local user for an upstream identity: ``user.created`` by ``federation:<slug>``, then the
link), and ``apply_claims``: at every sign-in the mapped roles, the mapped local groups'
memberships and the profile follow the upstream's claims, through the roles, groups and
accounts services with the provider as system actor.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import services as user_services
from accounts.models import User
from audit.services import record
from core import specs
from core.actors import Actor, SystemActor
from core.request_meta import RequestMeta
from federation import mapping
from federation.models import IdentityProvider, LinkedIdentity
from federation.upstream import Identity
from roles import access, group_services
from roles.models import Group, Role

SPEC_FIELDS = (
    "slug",
    "name",
    "kind",
    "issuer",
    "client_id",
    "client_secret",
    "token_endpoint_auth_method",
    "scopes",
    "link_by",
    "provision",
    "trust_mfa",
    "role_mapping",
    "exclusive_clients",
    "enabled",
)
SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?")
RESERVED_SLUGS = {"callback", "logged-out"}
MAX_LIST = 100


def _slug(value: Any) -> str:
    if not isinstance(value, str) or not SLUG.fullmatch(value) or value in RESERVED_SLUGS:
        raise ValueError("must be 1-50 lower-case letters, digits and inner hyphens")
    return value


def _text(limit: int) -> Any:
    def check(value: Any) -> str:
        if not isinstance(value, str) or not value.strip() or len(value) > limit:
            raise ValueError(f"must be 1-{limit} characters")
        return value.strip()

    return check


def _choice(choices: Iterable[str]) -> Any:
    allowed = list(choices)

    def check(value: Any) -> str:
        if value not in allowed:
            raise ValueError(f"must be one of: {', '.join(allowed)}")
        return value

    return check


def clean_issuer(value: Any) -> str:
    if value in ("", None):
        return ""
    schemes = ("https://", "http://") if settings.OUTBOUND_ALLOW_HTTP else ("https://",)
    if not isinstance(value, str) or len(value) > 500 or not value.startswith(schemes):
        raise ValueError("must be an https:// URL")
    return value.rstrip("/")


def _secret(value: Any) -> str:
    if not isinstance(value, str) or len(value) > 1000:
        raise ValueError("must be a string of at most 1000 characters")
    return value


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def _strings(value: Any) -> list[str]:
    if (
        not isinstance(value, list | tuple)
        or len(value) > MAX_LIST
        or not all(isinstance(v, str) and v and len(v) <= 255 for v in value)
    ):
        raise ValueError(f"must be a list of at most {MAX_LIST} non-empty strings")
    return list(dict.fromkeys(value))


def _role_mapping(value: Any) -> list[dict[str, Any]]:
    rules = mapping.clean_rules(value)
    named = {role for rule in rules for role in rule["roles"]}
    known = set(Role.objects.filter(name__in=named).values_list("name", flat=True))
    unknown = sorted(named - known)
    if unknown:
        raise ValueError(f"unknown role {unknown[0]!r}")
    groups = mapping.named_groups(rules)
    known = set(Group.objects.filter(name__in=groups).values_list("name", flat=True))
    unknown = sorted(groups - known)
    if unknown:
        raise ValueError(f"unknown group {unknown[0]!r}")
    return rules


_CHECKS = {
    "slug": _slug,
    "name": _text(100),
    "kind": _choice(IdentityProvider.Kind.values),
    "issuer": clean_issuer,
    "client_id": _text(255),
    "client_secret": _secret,
    "token_endpoint_auth_method": _choice(IdentityProvider.AuthMethod.values),
    "scopes": _strings,
    "link_by": _choice(IdentityProvider.LinkBy.values),
    "provision": _boolean,
    "trust_mfa": _boolean,
    "role_mapping": _role_mapping,
    "exclusive_clients": _strings,
    "enabled": _boolean,
}
NEEDS_ISSUER = {IdentityProvider.Kind.OIDC, IdentityProvider.Kind.MICROSOFT}


def clean_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """The model values ``spec`` asks for; every invalid field is named in one error."""
    return specs.checked(spec, _CHECKS, "an identity provider")


def _check_whole(provider: IdentityProvider) -> None:
    errors: dict[str, list[str]] = {}
    if provider.kind in NEEDS_ISSUER and not provider.issuer:
        errors["issuer"] = ["an OpenID Connect provider needs its issuer"]
    secretless = provider.token_endpoint_auth_method == IdentityProvider.AuthMethod.PRIVATE_KEY_JWT
    if not secretless and not provider.client_secret_encrypted:
        errors["client_secret"] = ["needed unless token_endpoint_auth_method is private_key_jwt"]
    if errors:
        raise ValidationError(errors)


def _guard_mapping(actor: Actor, values: dict[str, Any]) -> None:
    """Mapping claims to a role hands the role out: the actor must hold what it grants; to a
    group, what the group gives (its roles and its parents')."""
    rules = values.get("role_mapping", [])
    named = sorted({role for rule in rules for role in rule["roles"]})
    if named:
        actor.require_covers(access.role_permissions(named), what=f"Roles {', '.join(named)}")
    groups = sorted(mapping.named_groups(rules))
    if groups:
        actor.require_covers(access.group_permissions(groups), what=f"Groups {', '.join(groups)}")


def _assign(provider: IdentityProvider, values: dict[str, Any]) -> list[str]:
    """Set ``values`` on ``provider``; the names of the fields that changed."""
    changed = []
    for field, value in values.items():
        if field == "client_secret":
            if value != provider.client_secret:
                provider.set_client_secret(value)
                changed.append(field)
        elif getattr(provider, field) != value:
            setattr(provider, field, value)
            changed.append(field)
    return changed


def _save(provider: IdentityProvider) -> None:
    _check_whole(provider)
    try:
        with transaction.atomic():
            provider.save()
    except IntegrityError:
        raise ValidationError({"slug": ["an identity provider with this slug exists"]}) from None


@transaction.atomic
def provider_create(
    *, actor: Actor, meta: RequestMeta | None = None, spec: dict[str, Any]
) -> IdentityProvider:
    values = clean_spec(spec)
    missing = [f for f in ("slug", "name", "client_id") if f not in values]
    if missing:
        raise ValidationError({f: ["this field is required"] for f in missing})
    actor.require_fresh_factor()
    _guard_mapping(actor, values)
    provider = IdentityProvider()
    _assign(provider, values)
    _save(provider)
    record(
        "identity_provider.created",
        actor=actor.audit_name,
        meta=meta,
        target=provider.slug,
        kind=provider.kind,
    )
    return provider


@transaction.atomic
def provider_update(
    *,
    actor: Actor,
    meta: RequestMeta | None = None,
    provider: IdentityProvider,
    spec: dict[str, Any],
) -> bool:
    """Set the fields ``spec`` names; whether anything changed (``identity_provider.updated``
    naming the fields, a new secret named but never shown)."""
    values = clean_spec(spec)
    if "slug" in values and values["slug"] != provider.slug:
        raise ValidationError({"slug": ["the slug of a provider does not change"]})
    changed = _assign(provider, values)
    if not changed:
        return False
    actor.require_fresh_factor()
    if "role_mapping" in changed:
        _guard_mapping(actor, values)
    _save(provider)
    record(
        "identity_provider.updated",
        actor=actor.audit_name,
        meta=meta,
        target=provider.slug,
        fields=sorted(changed),
    )
    return True


@transaction.atomic
def provider_delete(
    *, actor: Actor, meta: RequestMeta | None = None, provider: IdentityProvider
) -> int:
    """Delete the provider and its links (its users stay, with their password if any); how
    many links went."""
    actor.require_fresh_factor()
    links = provider.links.count()
    slug = provider.slug
    provider.delete()
    record("identity_provider.deleted", actor=actor.audit_name, meta=meta, target=slug, links=links)
    return links


# --- identities -------------------------------------------------------------------------------


def provider_actor(provider: IdentityProvider) -> SystemActor:
    """Who changes a user because the provider said so (the audit log's actor)."""
    return SystemActor(f"federation:{provider.slug}")


class LinkRefused(Exception):
    """The identity is linked to someone else, or the user already has one of this provider."""


@transaction.atomic
def link(
    *,
    actor: Actor,
    meta: RequestMeta | None = None,
    provider: IdentityProvider,
    user: User,
    identity: Identity,
    how: str,
) -> LinkedIdentity:
    """Link ``(provider, identity.subject)`` to ``user``; ``how``: ``account`` (the user on their
    own page), ``verified_email`` or ``provisioned``."""
    if LinkedIdentity.objects.filter(provider=provider, subject=identity.subject).exists():
        raise LinkRefused("this upstream account is linked to another user")
    if LinkedIdentity.objects.filter(provider=provider, user=user).exists():
        raise LinkRefused("this user already has an account of this provider linked")
    linked = LinkedIdentity.objects.create(
        provider=provider, user=user, subject=identity.subject, email=identity.email[:254]
    )
    record(
        "federation.linked",
        actor=actor.audit_name,
        meta=meta,
        target=user.username,
        provider=provider.slug,
        subject=identity.subject,
        how=how,
    )
    return linked


@transaction.atomic
def unlink(*, actor: Actor, meta: RequestMeta | None = None, linked: LinkedIdentity) -> None:
    """Remove a link; refused (``LinkRefused``) when it is the user's last way to sign in (no
    usable password and no other link)."""
    user, provider, subject = linked.user, linked.provider, linked.subject
    if not user.has_usable_password() and not user.linked_identities.exclude(pk=linked.pk).exists():
        raise LinkRefused("this is the account's only way to sign in")
    linked.delete()
    record(
        "federation.unlinked",
        actor=actor.audit_name,
        meta=meta,
        target=user.username,
        provider=provider.slug,
        subject=subject,
    )


USERNAME_CHARS = re.compile(r"[^\w.@+-]")


def _free_username(provider: IdentityProvider, identity: Identity) -> str:
    wanted = identity.claims.get("preferred_username") or identity.email.split("@")[0]
    base = USERNAME_CHARS.sub("", str(wanted))[:120] or f"{provider.slug}-user"
    candidate, n = base, 1
    while User.objects.filter(username__iexact=candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


@transaction.atomic
def provision(
    *, meta: RequestMeta | None = None, provider: IdentityProvider, identity: Identity
) -> User:
    """A new local user (no usable password) for ``identity``, linked to it."""
    actor = provider_actor(provider)
    user = user_services.user_create(
        actor=actor,
        meta=meta,
        username=_free_username(provider, identity),
        email=identity.email if identity.email_verified else "",
        name=str(identity.claims.get("name") or "")[:255],
    )
    link(actor=actor, meta=meta, provider=provider, user=user, identity=identity, how="provisioned")
    return user


@transaction.atomic
def apply_claims(
    *,
    meta: RequestMeta | None = None,
    provider: IdentityProvider,
    linked: LinkedIdentity,
    identity: Identity,
) -> None:
    """What the upstream says at this sign-in, onto the user: each role (local group) the
    mapping names is held (joined) iff one of its rules matches (other roles and groups are left
    alone), the name and the verified e-mail follow the upstream's."""
    actor = provider_actor(provider)
    user = linked.user
    group_services.upstream_access_set(
        actor=actor,
        meta=meta,
        user=user,
        roles=mapping.roles_for(provider.role_mapping, identity.claims),
        groups=mapping.groups_for(provider.role_mapping, identity.claims),
    )
    profile: dict[str, Any] = {}
    name = identity.claims.get("name")
    if isinstance(name, str) and name and name[:255] != user.name:
        profile["name"] = name[:255]
    if identity.email_verified and identity.email != user.email:
        profile["email"] = identity.email
    if profile:
        user_services.user_update(actor=actor, meta=meta, user=user, **profile)
    linked.last_login_at = timezone.now()
    linked.email = identity.email[:254]
    linked.save(update_fields=["last_login_at", "email"])
