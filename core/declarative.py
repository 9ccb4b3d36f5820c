"""``manage.py apply FILE.yaml``: declarative, idempotent configuration (the framework).

An entry sets the fields it names; fields it does not name keep their stored values; a list it
names replaces the stored list. Everything is checked first (shape, types, allowed values), then
written in one transaction, where model validation (redirect URIs, password policy) runs too; any
error aborts the whole file with a message naming the file, the entry and the field.

Each app owns its section in its own ``config.py`` and registers it from its ``ready()``
(accounts: users; oauth: clients and APIs; roles; apikeys), and extends another app's section
through its ``schema``, ``after`` and ``late`` (roles on users and clients, mfa's ``mfa: totp``
on users): this module knows no app.
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
    for name, entries in document.items():
        section = known[name]
        if not isinstance(entries, list):
            raise ConfigError(f"{path}: {name} must be a list of entries")
        seen: set[str] = set()
        cleaned[name] = []
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict):
                raise ConfigError(f"{path}: {name}[{index}] must be a mapping")
            where = location(path, name, index, entry, section.key)
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
        where = location(path, section.name, index, entry, section.key)
        raise ConfigError(f"{where}: {_validation_message(exc)}") from None
