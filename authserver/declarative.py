"""``manage.py apply FILE.yaml``: declarative, idempotent configuration of clients and users.

An entry sets the fields it names; fields it does not name keep their stored values; a list it
names replaces the stored list. Everything is checked first (shape, types, allowed values), then
written in one transaction, where model validation (redirect URIs, password policy) runs too; any
error aborts the whole file with a message naming the file, the entry and the field.

Sections are registered in ``SECTIONS`` in the order they are applied, so later issues (roles,
MFA, API keys) add their own without touching this loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts import services as account_services
from accounts.models import User
from mfa import services as mfa_services
from mfa import totp
from oauth import services as client_services
from oauth.models import AUTH_METHODS, GRANT_DEVICE_CODE, ID_TOKEN_ALGORITHMS, Client


class ConfigError(Exception):
    """A problem in the file: the message names the file, the entry and the field."""


@dataclass
class Result:
    """What was created, with one-time secrets (the ``--json`` output)."""

    sections: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    changes: list[str] = field(default_factory=list)

    def created(self, section: str, name: str, data: dict[str, Any]) -> None:
        self.sections.setdefault(section, {})[name] = data


# --- field checkers: each returns the cleaned value or raises ValueError(message) ----------


def text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be a non-empty string")
    return value


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def positive_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError("must be a positive whole number")
    return value


def string_list(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValueError("must be a list of strings")
    return list(value)


def choice(*allowed: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value not in allowed:
            raise ValueError(f"must be one of: {', '.join(allowed)}")
        return value

    return check


def mapping(value: Any) -> dict:
    if not isinstance(value, dict):
        raise ValueError("must be a mapping")
    return value


GRANT_ALIASES = {"device_code": GRANT_DEVICE_CODE}
GRANT_NAMES = ("authorization_code", "client_credentials", "refresh_token", "device_code")


def grant_list(value: Any) -> list[str]:
    grants = string_list(value)
    unknown = [g for g in grants if g not in GRANT_NAMES and g != GRANT_DEVICE_CODE]
    if unknown:
        raise ValueError(
            f"unsupported grant type {unknown[0]!r} (allowed: {', '.join(GRANT_NAMES)})"
        )
    return [GRANT_ALIASES.get(g, g) for g in grants]


def scope_list(value: Any) -> list[str]:
    scopes = string_list(value)
    bad = [s for s in scopes if " " in s or not s.isprintable()]
    if bad:
        raise ValueError(f"invalid scope {bad[0]!r}")
    return scopes


CLIENT_SCHEMA: dict[str, Callable[[Any], Any]] = {
    "client_id": text,
    "name": text,
    "type": choice(Client.CLIENT_CONFIDENTIAL, Client.CLIENT_PUBLIC),
    "grant_types": grant_list,
    "redirect_uris": string_list,
    "post_logout_redirect_uris": string_list,
    "scopes": scope_list,
    "skip_consent": boolean,
    "access_token_lifetime": positive_int,
    "token_endpoint_auth_method": choice(*AUTH_METHODS),
    "jwks": mapping,
    "jwks_uri": text,
    "id_token_signed_response_alg": choice(*ID_TOKEN_ALGORITHMS),
    "require_mfa": boolean,
    "is_active": boolean,
}
USER_SCHEMA: dict[str, Callable[[Any], Any]] = {
    "username": text,
    "email": text,
    "password": text,
    "name": text,
    "is_active": boolean,
    "mfa_required": boolean,
    "mfa": choice("totp"),
}


@dataclass
class Section:
    name: str
    schema: dict[str, Callable[[Any], Any]]
    key: str  # the field that names an entry
    apply: Callable[[list[dict[str, Any]], Result], None]
    key_optional: bool = False
    # Callables (entry, result) run after ``apply`` for each entry, in the same transaction:
    # how other apps handle fields they add to ``schema`` (e.g. ``roles`` on users).
    after: list[Callable[[dict[str, Any], Result], None]] = field(default_factory=list)
    # Fields left out of ``apply`` and set by their callable (entry, result) once every section
    # has been applied: fields naming entries of a later section (a client's ``resources``
    # naming an API, whose ``client`` names a client), so the file's order does not matter.
    late: dict[str, Callable[[dict[str, Any], Result], None]] = field(default_factory=dict)


# Callables (path, checked document) run after the shape checks and before anything is
# written; they raise ConfigError for problems spanning entries or sections (unknown names).
CHECKS: list[Callable[[str, dict[str, list[dict[str, Any]]]], None]] = []


def _where(path: str, section: str, index: int, entry: dict[str, Any], key: str) -> str:
    label = entry.get(key) if isinstance(entry.get(key), str) else None
    return f"{path}: {section}[{index}]" + (f" ({label})" if label else "")


def _validation_message(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
    return " ".join(exc.messages)


# --- section appliers -----------------------------------------------------------------------


def apply_clients(entries: list[dict[str, Any]], result: Result) -> None:
    for entry in entries:
        client = Client.objects.filter(client_id=entry.get("client_id")).first()
        if client is None:
            client, secret = client_services.client_create(spec=entry)
            data: dict[str, Any] = {"client_id": client.client_id}
            if secret:
                data["client_secret"] = secret
            result.created("clients", client.client_id, data)
            result.changes.append(f"created client {client.client_id}")
        else:
            changed, secret = client_services.client_update(client=client, spec=entry)
            if secret:
                data = {"client_id": client.client_id, "client_secret": secret}
                result.created("clients", client.client_id, data)
            if changed:
                result.changes.append(f"updated client {client.client_id}")


def apply_users(entries: list[dict[str, Any]], result: Result) -> None:
    for entry in entries:
        fields = {k: v for k, v in entry.items() if k != "username"}
        user = User.objects.filter(username=entry["username"]).first()
        if user is None:
            user = account_services.user_create(username=entry["username"], **fields)
            result.created("users", user.username, {"id": str(user.pk)})
            result.changes.append(f"created user {user.username}")
        elif account_services.user_update(user=user, **fields):
            result.changes.append(f"updated user {user.username}")
        if entry.get("mfa") == "totp":
            _enrol_totp(user, result)


def _enrol_totp(user: User, result: Result) -> None:
    """``mfa: totp``: enrol once; the seed, its URI and recovery codes are returned once."""
    secret = mfa_services.authenticator_totp_provision(user=user)
    if secret is None:
        return
    codes = mfa_services.recovery_codes_generate(user=user)
    uri = totp.provisioning_uri(secret, account=user.username, issuer=settings.MFA_TOTP_ISSUER)
    data = {"totp_secret": secret, "otpauth_uri": uri, "recovery_codes": codes}
    result.sections.setdefault("users", {}).setdefault(user.username, {}).update(data)
    result.changes.append(f"enrolled TOTP for user {user.username}")


SECTIONS: list[Section] = [
    Section("clients", CLIENT_SCHEMA, "client_id", apply_clients, key_optional=True),
    Section("users", USER_SCHEMA, "username", apply_users),
]


def section(name: str) -> Section:
    return next(s for s in SECTIONS if s.name == name)


def _check(path: str, document: Any) -> dict[str, list[dict[str, Any]]]:
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections")
    known = {s.name: s for s in SECTIONS}
    unknown = [k for k in document if k not in known]
    if unknown:
        raise ConfigError(f"{path}: unknown section {unknown[0]!r} (allowed: {', '.join(known)})")
    cleaned: dict[str, list[dict[str, Any]]] = {}
    for name, entries in document.items():
        section = known[name]
        if not isinstance(entries, list):
            raise ConfigError(f"{path}: {name} must be a list of entries")
        seen: set[str] = set()
        cleaned[name] = []
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict):
                raise ConfigError(f"{path}: {name}[{index}] must be a mapping")
            where = _where(path, name, index, entry, section.key)
            if section.key not in entry and not section.key_optional:
                raise ConfigError(f"{where}: missing required field {section.key!r}")
            out = {}
            for key, value in entry.items():
                checker = section.schema.get(key)
                if checker is None:
                    raise ConfigError(f"{where}: unknown field {key!r}")
                try:
                    out[key] = checker(value)
                except ValueError as exc:
                    raise ConfigError(f"{where}.{key}: {exc}") from None
            ident = out.get(section.key)
            if ident is not None:
                if ident in seen:
                    raise ConfigError(f"{where}.{section.key}: {ident!r} appears twice")
                seen.add(ident)
            cleaned[name].append(out)
    return cleaned


def apply_file(path: str | Path) -> Result:
    """Check and apply ``path`` in one transaction; raise ConfigError with nothing written."""
    path = str(path)
    try:
        with open(path, encoding="utf-8") as fh:
            document = yaml.safe_load(fh)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    cleaned = _check(path, document)
    for check in CHECKS:
        check(path, cleaned)
    result = Result()
    with transaction.atomic():
        for section in SECTIONS:
            for index, entry in enumerate(cleaned.get(section.name, [])):
                with _located(path, section, index, entry):
                    section.apply(
                        [{k: v for k, v in entry.items() if k not in section.late}], result
                    )
                    for hook in section.after:
                        hook(entry, result)
        for section in SECTIONS:
            for index, entry in enumerate(cleaned.get(section.name, [])):
                with _located(path, section, index, entry):
                    for name, hook in section.late.items():
                        if name in entry:
                            hook(entry, result)
    return result


@contextmanager
def _located(path: str, section: Section, index: int, entry: dict[str, Any]) -> Iterator[None]:
    """A model validation error while applying ``entry`` aborts, naming the entry."""
    try:
        yield
    except ValidationError as exc:
        where = _where(path, section.name, index, entry, section.key)
        raise ConfigError(f"{where}: {_validation_message(exc)}") from None
