"""``manage.py apply FILE.yaml``: declarative, idempotent configuration (the framework).

An entry sets the fields it names; fields it does not name keep their stored values; a list it
names replaces the stored list. Everything is checked first (shape, types, allowed values), then
written in one transaction, where model validation (redirect URIs, password policy) runs too; any
error aborts the whole file with a message naming the file, the entry and the field.

Each app owns its section in its own ``config.py`` and registers it from its ``ready()``
(accounts: users; oauth: clients and APIs; roles; apikeys), and extends another app's section
through its ``schema``, ``after`` and ``late`` (roles on users and clients, mfa's ``mfa: totp``
on users): this module knows no app.

The same sections export themselves (``manage.py export``, the console's download): a section's
``export`` lists the stored entries as apply entries, secrets left out, and the apps extending
it add their fields through its ``export_fields``. ``plan_text`` is the dry run: it applies a
file in a transaction that is rolled back and compares the export before and after, per section
and entry (created, changed, left).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from django.core.exceptions import ValidationError
from django.db import transaction

from core.actors import APPLY, Actor
from core.request_meta import RequestMeta


class ConfigError(Exception):
    """Problems in the file, one a line: each names the file, the entry and the field."""

    def __init__(self, *messages: str) -> None:
        super().__init__("\n".join(messages))
        self.messages = list(messages)


@dataclass
class Result:
    """What was created, with one-time secrets (the ``--json`` output); and who applies the
    file, which the sections pass to the services they call (``APPLY`` for ``manage.py
    apply``, the admin for the console's upload) with the request's ``meta``."""

    sections: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    changes: list[str] = field(default_factory=list)
    actor: Actor = APPLY
    meta: RequestMeta | None = None

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
    # The stored entries as this section's apply entries, in an order apply accepts, with no
    # secret (``export_document``); None: the section is not exported.
    export: Callable[[], list[dict[str, Any]]] | None = None
    # Callables (exported entries) adding the fields other apps put in ``schema`` (a user's
    # ``roles``), for all entries at once (one query, not one per entry).
    export_fields: list[Callable[[list[dict[str, Any]]], None]] = field(default_factory=list)


# Callables (path, checked document) run after the shape checks and before anything is
# written; they raise ConfigError for problems spanning entries or sections (unknown names).
CHECKS: list[Callable[[str, dict[str, list[dict[str, Any]]]], None]] = []


def location(path: str, section: str, index: int, entry: dict[str, Any], key: str) -> str:
    label = entry.get(key) if isinstance(entry.get(key), str) else None
    return f"{path}: {section}[{index}]" + (f" ({label})" if label else "")


def _validation_message(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
    return " ".join(exc.messages)


# Sections in the order they are applied: each app adds its own from its ``ready()``
# (``add_section``), so this loop knows no app.
SECTIONS: list[Section] = []


def add_section(new: Section, *, before: str | None = None) -> None:
    """Add ``new`` (once) before the section named ``before``, or last; an app registering a
    section that an app below it must follow names it (roles come before clients and users)."""
    if any(s.name == new.name for s in SECTIONS):
        return
    names = [s.name for s in SECTIONS]
    SECTIONS.insert(names.index(before) if before in names else len(SECTIONS), new)


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
    problems: list[str] = []  # every entry's and field's, reported at once
    for name, entries in document.items():
        section = known[name]
        if not isinstance(entries, list):
            problems.append(f"{path}: {name} must be a list of entries")
            continue
        seen: set[str] = set()
        cleaned[name] = []
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict):
                problems.append(f"{path}: {name}[{index}] must be a mapping")
                continue
            where = location(path, name, index, entry, section.key)
            if section.key not in entry and not section.key_optional:
                problems.append(f"{where}: missing required field {section.key!r}")
            out = {}
            for key, value in entry.items():
                checker = section.schema.get(key)
                if checker is None:
                    problems.append(f"{where}: unknown field {key!r}")
                    continue
                try:
                    out[key] = checker(value)
                except ValueError as exc:
                    problems.append(f"{where}.{key}: {exc}")
            ident = out.get(section.key)
            if ident is not None:
                if ident in seen:
                    problems.append(f"{where}.{section.key}: {ident!r} appears twice")
                seen.add(ident)
            cleaned[name].append(out)
    if problems:
        raise ConfigError(*problems)
    return cleaned


def load_text(label: str, content: str) -> Any:
    """The YAML document in ``content`` (``label`` names it in messages)."""
    try:
        return yaml.safe_load(content)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{label}: not valid YAML: {exc}") from None


def apply_file(path: str | Path) -> Result:
    """Check and apply ``path`` in one transaction; raise ConfigError with nothing written."""
    path = str(path)
    try:
        with open(path, encoding="utf-8") as fh:
            content = fh.read()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    return apply_text(path, content)


def apply_text(
    label: str, content: str, *, actor: Actor = APPLY, meta: RequestMeta | None = None
) -> Result:
    """Check and apply the YAML ``content`` in one transaction (``label`` names it in
    messages) as ``actor``; raise ConfigError with nothing written."""
    cleaned = check_text(label, content)
    result = Result(actor=actor, meta=meta)
    with transaction.atomic():
        for section in SECTIONS:
            for index, entry in enumerate(cleaned.get(section.name, [])):
                with _located(label, section, index, entry):
                    section.apply(
                        [{k: v for k, v in entry.items() if k not in section.late}], result
                    )
                    for hook in section.after:
                        hook(entry, result)
        for section in SECTIONS:
            for index, entry in enumerate(cleaned.get(section.name, [])):
                with _located(label, section, index, entry):
                    for name, hook in section.late.items():
                        if name in entry:
                            hook(entry, result)
    return result


def check_text(label: str, content: str) -> dict[str, list[dict[str, Any]]]:
    """The checked document in ``content``: shapes, types and names across sections (nothing
    is written); raise ConfigError."""
    cleaned = _check(label, load_text(label, content))
    for check in CHECKS:
        check(label, cleaned)
    return cleaned


# --- export and the dry run --------------------------------------------------------------------

EXPORT_HEADER = """\
# authserver configuration, as `manage.py apply` takes it (`manage.py export`).
# Secrets are not exported: passwords, client secrets, API keys' secrets and second factors.
# Applied to another server, each confidential client and API key gets a new secret (shown
# once), users without a password set one by a reset, and users enrol their second factor again.
"""


def export_document() -> dict[str, list[dict[str, Any]]]:
    """Every exported section's stored entries, in apply order (empty sections left out)."""
    document: dict[str, list[dict[str, Any]]] = {}
    for section in SECTIONS:
        if section.export is None:
            continue
        entries = section.export()
        for add_fields in section.export_fields:
            add_fields(entries)
        if entries:
            document[section.name] = entries
    return document


def dump(document: dict[str, list[dict[str, Any]]]) -> str:
    """``document`` as an apply file, under the comment saying what it leaves out."""
    body = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, default_flow_style=False)
    return EXPORT_HEADER + (body if document else "")


def export_text() -> str:
    return dump(export_document())


@dataclass(frozen=True)
class ItemChange:
    key: str
    status: str  # "created", "changed" or "left"
    fields: tuple[str, ...] = ()  # the exported fields that change


@dataclass
class Plan:
    """What applying a file would do: per section, each entry it names, in file order."""

    sections: dict[str, list[ItemChange]] = field(default_factory=dict)
    changes: list[str] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for items in self.sections.values() for i in items if i.status == status)


class _DryRun(Exception):
    pass


def _by_key(document: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, dict[str, Any]]]:
    keys = {s.name: s.key for s in SECTIONS}
    return {
        name: {str(entry.get(keys[name], "")): entry for entry in entries}
        for name, entries in document.items()
    }


def plan_text(label: str, content: str) -> Plan:
    """Apply ``content`` in a transaction that is rolled back, and compare the export before
    and after: created, changed (with the fields) and left, per entry the file names (an entry
    without its key, a client whose id is generated, appears as the created one). Raise
    ConfigError for a bad file, as ``apply_text`` would."""
    named = check_text(label, content)
    before = _by_key(export_document())
    plan = Plan()
    try:
        with transaction.atomic():
            result = apply_text(label, content)
            after = _by_key(export_document())
            raise _DryRun
    except _DryRun:
        pass
    for section in SECTIONS:
        if section.export is None or section.name not in named:
            continue
        old, new = before.get(section.name, {}), after.get(section.name, {})
        keys = [str(e[section.key]) for e in named[section.name] if section.key in e]
        keys += [k for k in new if k not in old and k not in keys]
        items = []
        for key in dict.fromkeys(keys):
            if key not in old:
                items.append(ItemChange(key, "created"))
                continue
            entry, stored = new.get(key, {}), old[key]
            names = dict.fromkeys([*stored, *entry])
            fields = tuple(f for f in names if stored.get(f) != entry.get(f))
            items.append(ItemChange(key, "changed" if fields else "left", fields))
        plan.sections[section.name] = items
    plan.changes = result.changes
    return plan


@contextmanager
def _located(path: str, section: Section, index: int, entry: dict[str, Any]) -> Iterator[None]:
    """A model validation error while applying ``entry`` aborts, naming the entry."""
    try:
        yield
    except ValidationError as exc:
        where = location(path, section.name, index, entry, section.key)
        raise ConfigError(f"{where}: {_validation_message(exc)}") from None
