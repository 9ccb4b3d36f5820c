"""Writes of the directory app, each with its audit event in its own transaction.

- ``directory_create`` / ``directory_update`` / ``directory_delete``: the configuration. A
  directory's role mapping hands out roles (and memberships of local groups) to whoever its
  groups name, so setting it needs the actor's fresh second factor and every permission of the
  mapped roles and of what the mapped groups give (the hierarchy guard, as handing the roles
  out directly would).
- ``sign_in``: a person the directory just authenticated: their local user is found by the
  link ``(directory, entry UUID)``, or made (JIT) when provisioning is on and no local account
  has that username (a local account is never taken over by a directory entry of the same
  name); then profile, mapped roles and mapped group memberships are refreshed.
- ``sync_directory``: every linked user whose entry is gone (or no longer matches the user
  filter) is disabled, which ends their sessions and tokens (``oauth.services.user_set_active``);
  the others are refreshed. Directory changes are made as the actor ``directory:<slug>``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import services as account_services
from accounts.models import User
from audit.models import AuditEvent
from audit.services import record
from core import crypto
from core.actors import Actor, SystemActor
from core.request_meta import RequestMeta
from directory.models import Directory, DirectoryLink
from oauth import services as oauth_services
from roles import access, group_services
from roles.models import Group, Role

if TYPE_CHECKING:  # ldap3 (directory.client) loads only where a directory is asked
    from directory import client

log = logging.getLogger(__name__)

# The fields a spec may set (``bind_password`` is stored encrypted, never read back).
SPEC_FIELDS = (
    "name",
    "enabled",
    "urls",
    "start_tls",
    "ca_file",
    "allow_plaintext",
    "bind_mode",
    "user_dn_template",
    "bind_dn",
    "bind_password",
    "user_base",
    "user_filter",
    "username_attribute",
    "email_attribute",
    "name_attribute",
    "uuid_attribute",
    "group_base",
    "group_filter",
    "group_member_attribute",
    "group_name_attribute",
    "role_mapping",
    "provision",
    "sync",
)


def directory_actor(directory: Directory) -> SystemActor:
    return SystemActor(f"directory:{directory.slug}")


# --- configuration ----------------------------------------------------------------------------


def _filter_error(value: str) -> str | None:
    from ldap3.core.exceptions import LDAPInvalidFilterError
    from ldap3.operation.search import parse_filter

    try:
        parse_filter(
            value, None, auto_escape=False, auto_encode=False, validator=None, check_names=False
        )
    except LDAPInvalidFilterError:
        return f"{value!r} is not a valid LDAP filter (RFC 4515)"
    return None


def _url_errors(urls: Any, directory: Directory) -> list[str]:
    if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
        return ["at least one ldap:// or ldaps:// URL"]
    errors = []
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme not in ("ldap", "ldaps") or not parts.hostname:
            errors.append(f"{url!r} is not an ldap:// or ldaps:// URL")
        elif parts.scheme == "ldap" and not directory.start_tls and not directory.allow_plaintext:
            errors.append(
                f"{url!r} would send passwords in clear: use ldaps://, turn StartTLS on, or "
                "allow plaintext explicitly"
            )
    return errors


def _names(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and v for v in value)


def _mapping_errors(mapping: Any) -> list[str]:
    if not isinstance(mapping, list):
        return ["a list of {group, roles, groups}"]
    errors, names, groups = [], set(), set()
    for rule in mapping:
        if (
            not isinstance(rule, dict)
            or "group" not in rule
            or set(rule) - {"group", "roles", "groups"}
            or not isinstance(rule["group"], str)
            or not rule["group"].strip()
            or not _names(rule.get("roles", []))
            or not _names(rule.get("groups", []))
            or not (rule.get("roles") or rule.get("groups"))
        ):
            errors.append(
                "each rule is {group: <name or DN>, roles: [role, ...], groups: [group, ...]}"
            )
            continue
        names.update(rule.get("roles", []))
        groups.update(rule.get("groups", []))
    unknown = sorted(
        names - set(Role.objects.filter(name__in=names).values_list("name", flat=True))
    )
    if unknown:
        errors.append(f"unknown role(s): {', '.join(unknown)}")
    unknown = sorted(
        groups - set(Group.objects.filter(name__in=groups).values_list("name", flat=True))
    )
    if unknown:
        errors.append(f"unknown group(s): {', '.join(unknown)}")
    return errors


def _candidate_errors(directory: Directory) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}

    def add(field: str, *messages: str | None) -> None:
        found = [m for m in messages if m]
        if found:
            errors.setdefault(field, []).extend(found)

    add("urls", *_url_errors(directory.urls, directory))
    if directory.ca_file and not os.path.isfile(directory.ca_file):
        add("ca_file", f"no such file: {directory.ca_file}")
    if directory.bind_mode == Directory.BindMode.DIRECT:
        if "{username}" not in directory.user_dn_template:
            add("user_dn_template", "direct binding needs a DN template with {username}")
    else:
        if not directory.user_base:
            add("user_base", "search binding needs the base DN to search users under")
        if "{username}" not in directory.user_filter:
            add("user_filter", "the user filter must contain {username}")
        else:
            add("user_filter", _filter_error(directory.user_filter.replace("{username}", "x")))
    if directory.sync and not directory.bind_dn:
        add("sync", "the sync reads the entries as the service account: set its bind DN")
    if directory.bind_dn and not directory.bind_password_encrypted:
        add("bind_password", "the service account needs its password")
    if not directory.username_attribute or not directory.uuid_attribute:
        add("username_attribute", "the username and UUID attributes are required")
    if directory.group_base:
        add("group_filter", _filter_error(directory.group_filter))
    add("role_mapping", *_mapping_errors(directory.role_mapping))
    try:
        directory.full_clean(exclude=["urls", "role_mapping"], validate_unique=False)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            add(field, *messages)
    return errors


def assign_spec(directory: Directory, spec: dict[str, Any]) -> None:
    """Set the fields of ``spec`` on ``directory`` (not saved), the password encrypted."""
    for key, value in spec.items():
        if key == "bind_password":
            directory.bind_password_encrypted = crypto.encrypt(value.encode()) if value else ""
        elif key in SPEC_FIELDS:
            setattr(directory, key, value)


def directory_errors(
    spec: dict[str, Any], *, directory: Directory | None = None, slug: str = ""
) -> dict[str, list[str]]:
    """Every field's reasons at once for ``spec`` on ``directory`` (a new one: ``slug``);
    nothing is written."""
    candidate = (
        Directory(slug=slug) if directory is None else Directory.objects.get(pk=directory.pk)
    )
    assign_spec(candidate, spec)
    errors = _candidate_errors(candidate)
    if directory is None and Directory.objects.filter(slug=slug).exists():
        errors.setdefault("slug", []).append(f"a directory {slug!r} exists already")
    return errors


def _guard(actor: Actor, directory: Directory) -> None:
    actor.require_fresh_factor()
    actor.require_covers(
        access.role_permissions(directory.mapped_roles())
        | access.group_permissions(directory.mapped_groups()),
        what=f"Directory {directory.slug!r}",
    )


def _validate(directory: Directory) -> None:
    errors = _candidate_errors(directory)
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def directory_create(
    *, actor: Actor, meta: RequestMeta | None = None, slug: str, spec: dict[str, Any]
) -> Directory:
    directory = Directory(slug=slug)
    assign_spec(directory, spec)
    _guard(actor, directory)
    if Directory.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": [f"a directory {slug!r} exists already"]})
    _validate(directory)
    directory.save()
    record(
        "directory.created",
        actor=actor.audit_name,
        meta=meta,
        target=slug,
        roles=sorted(directory.mapped_roles()),
    )
    return directory


@transaction.atomic
def directory_update(
    *, actor: Actor, meta: RequestMeta | None = None, directory: Directory, spec: dict[str, Any]
) -> bool:
    """Set the fields given; returns whether anything changed (``directory.updated`` names the
    fields; a password given is a change only when it differs)."""
    before = Directory.objects.select_for_update().get(pk=directory.pk)
    assign_spec(directory, spec)
    changed = sorted(
        key
        for key in spec
        if key != "bind_password" and getattr(before, key) != getattr(directory, key)
    )
    if "bind_password" in spec:
        old = before.bind_password_encrypted
        if (crypto.decrypt(old).decode() if old else "") != (spec["bind_password"] or ""):
            changed.append("bind_password")
        else:
            directory.bind_password_encrypted = old
    if not changed:
        return False
    _guard(actor, directory)
    _validate(directory)
    directory.save()
    record(
        "directory.updated",
        actor=actor.audit_name,
        meta=meta,
        target=directory.slug,
        fields=sorted(changed),
    )
    return True


@transaction.atomic
def directory_delete(*, actor: Actor, meta: RequestMeta | None = None, directory: Directory) -> int:
    """Delete ``directory`` and its links; its users stay (with no usable password, they can no
    longer sign in). Returns how many users were linked."""
    actor.require_fresh_factor()
    linked = directory.links.count()
    slug = directory.slug
    directory.delete()
    record("directory.deleted", actor=actor.audit_name, meta=meta, target=slug, linked=linked)
    return linked


# --- sign-in and sync -------------------------------------------------------------------------


def _wanted_roles(directory: Directory, groups: Iterable[str]) -> set[str]:
    member_of = {g.lower() for g in groups}
    return {
        role
        for rule in directory.role_mapping
        if rule["group"].strip().lower() in member_of
        for role in rule.get("roles", [])
    }


def _wanted_groups(directory: Directory, groups: Iterable[str]) -> set[str]:
    member_of = {g.lower() for g in groups}
    return {
        group
        for rule in directory.role_mapping
        if rule["group"].strip().lower() in member_of
        for group in rule.get("groups", [])
    }


def _refresh_roles(
    directory: Directory, user: User, entry: client.Entry, meta: RequestMeta | None
) -> None:
    """Add and remove the mapped roles and local group memberships only (a role or group
    nobody maps is left as it is)."""
    wanted_roles = _wanted_roles(directory, entry.groups)
    wanted_groups = _wanted_groups(directory, entry.groups)
    group_services.upstream_access_set(
        actor=directory_actor(directory),
        meta=meta,
        user=user,
        roles={role: role in wanted_roles for role in directory.mapped_roles()},
        groups={group: group in wanted_groups for group in directory.mapped_groups()},
    )


def _refresh(
    directory: Directory, link: DirectoryLink, entry: client.Entry, meta: RequestMeta | None
) -> None:
    profile = {}
    if directory.email_attribute:
        profile["email"] = entry.email
    if directory.name_attribute:
        profile["name"] = entry.name
    try:
        with transaction.atomic():
            account_services.user_update(
                actor=directory_actor(directory), meta=meta, user=link.user, **profile
            )
    except ValidationError as exc:  # the directory's value is not valid here: keep ours
        log.warning("directory %s: profile of %r not updated: %s", directory.slug, entry.dn, exc)
    _refresh_roles(directory, link.user, entry, meta)
    link.dn = entry.dn
    link.synced_at = timezone.now()
    link.save(update_fields=["dn", "synced_at"])


def _refuse(
    directory: Directory, entry: client.Entry, meta: RequestMeta | None, reason: str
) -> None:
    record(
        "directory.sign_in_refused",
        actor=directory_actor(directory).audit_name,
        meta=meta,
        target=entry.username or entry.dn,
        outcome=AuditEvent.Outcome.DENIED,
        reason=reason,
    )


def _provision(
    directory: Directory, entry: client.Entry, meta: RequestMeta | None
) -> DirectoryLink | None:
    if not directory.provision:
        _refuse(directory, entry, meta, "not_provisioned")
        return None
    if not entry.username or User.objects.filter(username__iexact=entry.username).exists():
        _refuse(directory, entry, meta, "username_taken")
        return None
    actor = directory_actor(directory)
    try:
        with transaction.atomic():
            user = account_services.user_create(
                actor=actor,
                meta=meta,
                username=entry.username,
                email=entry.email,
                name=entry.name,
            )
    except ValidationError as exc:
        log.warning("directory %s: cannot provision %r: %s", directory.slug, entry.dn, exc)
        _refuse(directory, entry, meta, "invalid_profile")
        return None
    link = DirectoryLink.objects.create(
        user=user, directory=directory, entry_id=entry.entry_id, dn=entry.dn
    )
    record(
        "directory.user_linked",
        actor=actor.audit_name,
        meta=meta,
        target=user.username,
        directory=directory.slug,
        dn=entry.dn,
    )
    return link


@transaction.atomic
def sign_in(
    *, directory: Directory, entry: client.Entry, meta: RequestMeta | None = None
) -> User | None:
    """The local user of an entry the directory just authenticated (made at the first sign-in
    when provisioning is on), with profile and mapped roles refreshed; None: refused."""
    link = (
        DirectoryLink.objects.select_related("user")
        .filter(directory=directory, entry_id=entry.entry_id)
        .first()
    )
    if link is None:
        link = _provision(directory, entry, meta)
        if link is None:
            return None
    if link.user.is_active:
        _refresh(directory, link, entry, meta)
    return link.user


@dataclass(frozen=True)
class SyncResult:
    directory: str
    checked: int = 0
    disabled: int = 0
    error: str = ""


def sync_directory(directory: Directory, *, meta: RequestMeta | None = None) -> SyncResult:
    """Check every linked user against the directory: gone or no longer matching, disabled
    (sessions and tokens end); still there, refreshed. Nothing is disabled when the directory
    cannot be asked. Audited as ``directory.synced`` (or ``directory.sync_failed``)."""
    from directory import client

    actor = directory_actor(directory)
    checked = disabled = 0
    try:
        with client.service_connection(directory) as connection:
            for link in directory.links.select_related("user").order_by("pk"):
                entry = client.lookup(directory, connection, link.dn)
                checked += 1
                if entry is None or entry.entry_id != link.entry_id:
                    if link.user.is_active:
                        oauth_services.user_set_active(
                            actor=actor, meta=meta, user=link.user, active=False
                        )
                        disabled += 1
                elif link.user.is_active:
                    with transaction.atomic():
                        _refresh(directory, link, entry, meta)
    except client.Unreachable as exc:
        log.warning("directory %s: sync failed: %s", directory.slug, exc)
        record(
            "directory.sync_failed",
            actor=actor.audit_name,
            meta=meta,
            target=directory.slug,
            outcome=AuditEvent.Outcome.FAILURE,
            checked=checked,
            disabled=disabled,
        )
        return SyncResult(directory.slug, checked, disabled, str(exc))
    with transaction.atomic():
        Directory.objects.filter(pk=directory.pk).update(last_sync_at=timezone.now())
        record(
            "directory.synced",
            actor=actor.audit_name,
            meta=meta,
            target=directory.slug,
            checked=checked,
            disabled=disabled,
        )
    return SyncResult(directory.slug, checked, disabled)


def sync_all() -> list[SyncResult]:
    """Sync every enabled directory with ``sync`` on (the beat task, the manage command)."""
    return [sync_directory(d) for d in Directory.objects.filter(enabled=True, sync=True)]
