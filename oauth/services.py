"""Writes to clients, tokens and sessions, each with its audit event in the same transaction.

Every client save bumps the ``clients`` generation in the same transaction
(``OauthConfig.ready``: ``generations.bump_on_change``). Every service takes the acting
``core.actors.Actor`` and the request's ``RequestMeta`` keyword-only; one that hands out or
restores privileges asks the actor for a fresh second factor first (SECURITY 85). Disabling a
user and setting their password live here, not in ``accounts``, because they also end the
user's sessions, which are tokens (this app stands above ``accounts``).
"""

from __future__ import annotations

import copy
import json
import re
import secrets
import uuid
from datetime import datetime
from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import transaction
from jwcrypto.common import JWException
from jwcrypto.jwk import JWKSet
from oauth2_provider.models import (
    AbstractAccessToken,
    get_access_token_model,
    get_grant_model,
    get_refresh_token_model,
    revoke_access_token,
)

from accounts import services as account_services
from accounts.models import User
from audit.services import delete_recorded, record
from core.actors import Actor
from core.request_meta import RequestMeta
from mail import notices
from oauth import clienttokens, logout
from oauth.api_services import clean_lifetime, scope_error
from oauth.models import (
    GRANT_AUTHORIZATION_CODE,
    GRANT_DEVICE_CODE,
    TLS_CLIENT_FIELDS,
    Api,
    AuthContext,
    Client,
    validate_redirect_uri,
)

CLIENT_ID = re.compile(r"[A-Za-z0-9._~-]{1,100}")

# Fields a client spec may set directly on the model (the rest are mapped below).
CLIENT_FIELDS = {
    "name": "name",
    "grant_types": "grant_types",
    "scopes": "allowed_scopes",
    "skip_consent": "skip_authorization",
    "access_token_lifetime": "access_token_lifetime",
    "token_endpoint_auth_method": "token_endpoint_auth_method",
    "jwks": "jwks",
    "jwks_uri": "jwks_uri",
    "id_token_signed_response_alg": "id_token_signed_response_alg",
    "require_mfa": "require_mfa",
    "require_verified_email": "require_verified_email",
    "require_pushed_authorization_requests": "require_pushed_authorization_requests",
    "backchannel_logout_uri": "backchannel_logout_uri",
    "dpop_bound_access_tokens": "dpop_bound_access_tokens",
    **{field: field for field in TLS_CLIENT_FIELDS},
    "profile": "profile",
    "backchannel_logout_session_required": "backchannel_logout_session_required",
    "is_active": "is_active",
}
# Client fields whose change is a change of privileges: where codes and tokens may go, how
# the client proves itself and what it may obtain (a name or a logo is not).
PRIVILEGED_CLIENT_FIELDS = frozenset(
    {
        "type",
        "redirect_uris",
        "post_logout_redirect_uris",
        "grant_types",
        "scopes",
        "token_endpoint_auth_method",
        "jwks",
        "jwks_uri",
        "resources",
        "skip_consent",  # tokens without the consent page
        "require_mfa",  # loosening the second-factor rule
        "require_verified_email",  # loosening who may sign in
        "require_pushed_authorization_requests",  # loosening: requests in the browser's URL
        "dpop_bound_access_tokens",  # loosening: bearer tokens again
        *TLS_CLIENT_FIELDS,  # whose certificate proves it; bearer tokens again
        "profile",  # leaving FAPI 2.0 loosens every rule above
        "is_active",  # re-enabling (disabling removes access and is not asked: below)
    }
)
LIST_TEXT_FIELDS = {
    "redirect_uris": "redirect_uris",
    "post_logout_redirect_uris": "post_logout_redirect_uris",
}


def new_client_secret() -> str:
    """256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def _dot_grant_type(grant_types: list[str]) -> str:
    """DOT's single ``authorization_grant_type`` column, kept consistent with our list."""
    if GRANT_AUTHORIZATION_CODE in grant_types:
        return Client.GRANT_AUTHORIZATION_CODE
    if GRANT_DEVICE_CODE in grant_types:
        return Client.GRANT_DEVICE_CODE
    return Client.GRANT_CLIENT_CREDENTIALS


def _resources(value: Any) -> list[str]:
    """A client's ``resources``: identifiers of registered APIs (``management`` for the
    built-in one), each once. The rows are locked until the write commits, so an API cannot be
    deleted between this check and the write (``oauth.api_services.api_delete``)."""
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValidationError({"resources": ["must be a list of API identifiers"]})
    wanted = list(dict.fromkeys(value))
    known = set(
        Api.objects.select_for_update()
        .filter(identifier__in=wanted)
        .values_list("identifier", flat=True)
    )
    unknown = [identifier for identifier in wanted if identifier not in known]
    if unknown:
        raise ValidationError({"resources": [f"not a registered API: {', '.join(unknown)}"]})
    return wanted


def _assign(client: Client, spec: dict[str, Any]) -> None:
    for key, field in CLIENT_FIELDS.items():
        if key in spec:
            setattr(client, field, spec[key])
    if "resources" in spec:
        client.resources = _resources(spec["resources"])
    for key, field in LIST_TEXT_FIELDS.items():
        if key in spec:
            setattr(client, field, " ".join(spec[key]))
    if "type" in spec:
        client.client_type = spec["type"]
        if "token_endpoint_auth_method" not in spec:
            client.token_endpoint_auth_method = (
                "none" if spec["type"] == Client.CLIENT_PUBLIC else "client_secret_basic"
            )
    client.authorization_grant_type = _dot_grant_type(client.grant_types)
    client.algorithm = Client.RS256_ALGORITHM


def spec_changes(client: Client, spec: dict[str, Any]) -> set[str]:
    """The names in ``spec`` whose value differs from ``client``'s now (nothing is set)."""

    def current(key: str) -> Any:
        if key in CLIENT_FIELDS:
            return getattr(client, CLIENT_FIELDS[key])
        if key in LIST_TEXT_FIELDS:
            return getattr(client, LIST_TEXT_FIELDS[key]).split()
        return client.client_type if key == "type" else getattr(client, key, None)

    return {
        key
        for key, value in spec.items()
        if current(key) != (list(value) if key in LIST_TEXT_FIELDS else value)
    }


def _needs_secret(client: Client) -> bool:
    return (
        client.client_type == Client.CLIENT_CONFIDENTIAL
        and client.token_endpoint_auth_method
        in (
            "client_secret_basic",
            "client_secret_post",
        )
    )


def _field_errors(spec: dict[str, Any], client: Client | None) -> dict[str, list[str]]:
    """What is wrong with the values of ``spec`` on their own (each field checked)."""
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    others = Client.objects.exclude(pk=client.pk) if client is not None else Client.objects
    if spec.get("client_id") and client is None:
        client_id = spec["client_id"]
        if not isinstance(client_id, str) or not CLIENT_ID.fullmatch(client_id):
            add("client_id", "1-100 letters, digits and . _ ~ - only")
        elif others.filter(client_id=client_id).exists():
            add("client_id", f"a client with the id {client_id!r} already exists")
    name = spec.get("name")
    if isinstance(name, str) and name.strip() and others.filter(name__iexact=name).exists():
        add("name", f"a client named {name!r} already exists")
    for scope in spec.get("scopes") or []:
        if (message := scope_error(scope)) is not None:
            add("scopes", message)
    for field in LIST_TEXT_FIELDS:
        for uri in spec.get(field) or []:
            if not isinstance(uri, str) or any(c.isspace() for c in uri):
                add(field, f"{uri}: a URI cannot contain spaces")
            elif field == "post_logout_redirect_uris":
                try:
                    validate_redirect_uri(uri)
                except ValidationError as exc:
                    errors.setdefault(field, []).extend(exc.messages)
    if "access_token_lifetime" in spec:
        try:
            clean_lifetime(spec["access_token_lifetime"])
        except ValueError as exc:
            add("access_token_lifetime", str(exc))
    if spec.get("jwks") is not None:
        try:
            JWKSet.from_json(json.dumps(spec["jwks"]))
        except (JWException, ValueError, TypeError, KeyError, AttributeError):
            add("jwks", "not a JSON Web Key Set (RFC 7517 §5)")
    return errors


def _candidate(spec: dict[str, Any], client: Client | None) -> Client:
    """``client`` (a copy: the original is left as it is) or a new one, with ``spec`` set."""
    if client is None:
        candidate = Client(
            client_type=spec.get("type", Client.CLIENT_CONFIDENTIAL), client_secret=""
        )
        if spec.get("client_id"):
            candidate.client_id = spec["client_id"]
    else:
        candidate = copy.copy(client)
    _assign(candidate, spec)
    return candidate


@transaction.atomic
def client_errors(spec: dict[str, Any], *, client: Client | None = None) -> dict[str, list[str]]:
    """Every reason ``spec`` cannot be applied (to ``client``, or as a new client), by field:
    the one validation of a client behind ``apply``, the management API and the console.
    Nothing is written."""
    errors = _field_errors(spec, client)
    checks = [lambda: _resources(spec["resources"])] if "resources" in spec else []
    others = {key: value for key, value in spec.items() if key != "resources"}
    checks.append(
        lambda: _candidate(others, client).full_clean(
            exclude=["client_secret", "user", "client_id"]
        )
    )
    for check in checks:
        try:
            check()
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                have = errors.setdefault(field, [])
                have.extend([m for m in messages if m not in have])
    return errors


def _validate(spec: dict[str, Any], client: Client | None) -> None:
    errors = client_errors(spec, client=client)
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def client_create(
    *, actor: Actor, meta: RequestMeta | None = None, spec: dict[str, Any]
) -> tuple[Client, str | None]:
    """Create a client (needs a fresh second factor); returns it with its one-time secret (None
    for public/JWT clients)."""
    actor.require_fresh_factor()
    _validate(spec, None)
    client = _candidate(spec, None)
    secret = None
    if _needs_secret(client):
        secret = new_client_secret()
        client.client_secret = make_password(secret, hasher="hmac_sha256")
    client.hash_client_secret = secret is not None  # never hash "" into a usable secret
    client.full_clean(exclude=["client_secret", "user"])
    client.save()
    record("client.created", actor=actor.audit_name, meta=meta, target=client.client_id)
    return client, secret


def _state(client: Client) -> dict[str, Any]:
    return {f.attname: getattr(client, f.attname) for f in client._meta.concrete_fields}


@transaction.atomic
def client_update(
    *, actor: Actor, meta: RequestMeta | None = None, client: Client, spec: dict[str, Any]
) -> tuple[bool, str | None]:
    """Update the fields ``spec`` names. Returns (changed, new secret if one had to be made).
    A change of a ``PRIVILEGED_CLIENT_FIELDS`` value needs a fresh second factor."""
    changed_fields = spec_changes(client, spec)
    changes = changed_fields & PRIVILEGED_CLIENT_FIELDS
    if changes - {"is_active"} or ("is_active" in changes and spec["is_active"]):
        actor.require_fresh_factor()
    _validate(spec, client)
    before = _state(client)
    _assign(client, spec)
    secret = None
    if _needs_secret(client) and not client.client_secret:
        secret = new_client_secret()
        client.client_secret = make_password(secret, hasher="hmac_sha256")
    elif not _needs_secret(client):
        client.client_secret = ""
    client.hash_client_secret = bool(client.client_secret)
    if _state(client) == before:
        return False, None
    client.full_clean(exclude=["client_secret", "user"])
    client.save()
    record(
        "client.updated",
        actor=actor.audit_name,
        meta=meta,
        target=client.client_id,
        fields=sorted(changed_fields),
    )
    return True, secret


@transaction.atomic
def client_rotate_secret(*, actor: Actor, meta: RequestMeta | None = None, client: Client) -> str:
    """A new secret replaces the old one at once (needs a fresh second factor); returned here
    and never again."""
    actor.require_fresh_factor()
    if not client.client_secret:
        raise ValidationError("This client does not authenticate with a client secret.")
    secret = new_client_secret()
    client.client_secret = make_password(secret, hasher="hmac_sha256")
    client.save(update_fields=["client_secret", "updated"])
    record("client.secret_rotated", actor=actor.audit_name, meta=meta, target=client.client_id)
    return secret


# --- tokens and sessions ----------------------------------------------------------------------


def user_sessions_end(user: User) -> None:
    """Revoke every refresh-token family and access token of ``user`` (RFC 9700 §4.14.2), and
    tell the clients with a back-channel logout URI that the user's sessions ended."""
    refresh_model = get_refresh_token_model()
    families = (
        refresh_model.objects.filter(user=user, revoked__isnull=True)
        .exclude(token_family=None)
        .values_list("token_family", flat=True)
        .distinct()
    )
    for family in list(families):
        refresh_model.revoke_family(family)
    for refresh in refresh_model.objects.filter(user=user, revoked__isnull=True):
        refresh.revoke()
    get_access_token_model().objects.filter(user=user).delete()
    logout.sessions_ended(AuthContext.objects.filter(user=user))


@transaction.atomic
def user_set_active(
    *, actor: Actor, meta: RequestMeta | None = None, user: User, active: bool
) -> User:
    """``accounts.services.user_set_active``; disabling also ends all of the user's sessions
    and tokens."""
    account_services.user_set_active(actor=actor, meta=meta, user=user, active=active)
    if not active:
        user_sessions_end(user)
    return user


@transaction.atomic
def user_set_password(
    *, actor: Actor, meta: RequestMeta | None = None, user: User, password: str
) -> None:
    """``accounts.services.user_set_password``, and the user's sessions end (ASVS 7.4.3); the
    user is told by mail (``mail.notices.password_changed``)."""
    account_services.user_set_password(actor=actor, meta=meta, user=user, password=password)
    user_sessions_end(user)
    notices.password_changed(user, meta=meta)


@transaction.atomic
def access_token_revoke(
    *, actor: Actor, meta: RequestMeta | None = None, token: AbstractAccessToken
) -> None:
    """Revoke an access token and the refresh token bound to it (RFC 7009 §2.1)."""
    client_id = token.application.client_id
    target = f"user:{token.user.username}" if token.user else f"client:{client_id}"
    data = {"access_id": token.pk, "client_id": client_id}
    revoke_access_token(token)
    record("token.revoked", actor=actor.audit_name, meta=meta, target=target, **data)


@transaction.atomic
def client_token_revoke(
    *, actor: Actor, meta: RequestMeta | None = None, jti: str, client_id: str, expires: datetime
) -> None:
    """Revoke a client-credentials access token by its ``jti`` (it has no row to delete)."""
    if clienttokens.revoke_jti(jti, client_id, expires):
        record(
            "token.revoked",
            actor=actor.audit_name,
            meta=meta,
            target=f"client:{client_id}",
            jti=jti,
            client_id=client_id,
        )


@transaction.atomic
def session_revoke(
    *, actor: Actor, meta: RequestMeta | None = None, user: User, family: uuid.UUID
) -> None:
    """End a sign-in session: its whole refresh-token family and the access tokens from it
    (with the first one, issued with the code, when the sign-in context is known)."""
    get_refresh_token_model().revoke_family(family)
    context = AuthContext.objects.filter(token_family=family).select_related("client").first()
    data = {"family": str(family)}
    if context is not None:
        get_access_token_model().objects.filter(pk=context.first_access_token_id).delete()
        data.update(session_id=str(context.pk), client_id=context.client.client_id)
        logout.sessions_ended(AuthContext.objects.filter(pk=context.pk))
    target = f"user:{user.username}"
    record("session.revoked", actor=actor.audit_name, meta=meta, target=target, **data)


@transaction.atomic
def user_client_revoke(
    *, actor: Actor, meta: RequestMeta | None = None, user: User, client: Client
) -> dict[str, int]:
    """End everything ``client`` holds for ``user`` at once: its refresh tokens (revoked, so
    the token endpoint refuses them with ``invalid_grant``), its access-token rows, its unused
    authorization codes and so the consent (with ``approval_prompt=auto`` a live token is the
    consent). Audited as ``application.revoked`` with how many of each kind (``refresh``,
    ``access``, ``grants``: the audit masks names with ``token`` or ``code``); returns them."""
    actor.require_fresh_factor()
    refresh_model = get_refresh_token_model()
    access = get_access_token_model().objects.filter(user=user, application=client)
    live = refresh_model.objects.filter(user=user, application=client, revoked__isnull=True)
    counts = {"refresh": live.count(), "access": access.count()}
    for family in list(live.exclude(token_family=None).values_list("token_family", flat=True)):
        refresh_model.revoke_family(family)
    for refresh in live:  # tokens outside a family (none are issued so, but rows may exist)
        refresh.revoke()
    access.delete()
    counts["grants"], _ = get_grant_model().objects.filter(user=user, application=client).delete()
    record(
        "application.revoked",
        actor=actor.audit_name,
        meta=meta,
        target=f"user:{user.username}",
        client_id=client.client_id,
        **counts,
    )
    return counts


@transaction.atomic
def client_delete(
    *, actor: Actor, meta: RequestMeta | None = None, client: Client
) -> dict[str, int]:
    """Delete ``client`` and everything issued to it, audited as ``client.deleted``. Refused (a
    ValidationError naming them) while a registered API presents its credentials: the API would
    be left without one. Its tokens, refresh tokens, codes, sign-in contexts, API keys and role
    assignments go with the row (cascades of it); its client-credentials tokens have no row and
    stop because every use checks the client (``oauth.clienttokens``). Returns the rows removed
    by kind, the client's own included."""
    Client.objects.select_for_update().filter(pk=client.pk).first()
    apis = sorted(client.apis.values_list("identifier", flat=True))
    if apis:
        raise ValidationError(
            f"Client {client.client_id!r} is the client of the API(s) {', '.join(apis)}: "
            "give them another client (or delete them) first."
        )
    return delete_recorded(
        client, "client.deleted", actor=actor.audit_name, target=client.client_id, meta=meta
    )
