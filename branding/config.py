"""The ``branding`` section of ``manage.py apply``: one entry, every field optional.

    branding:
      - name: Acme sign-in
        primary_color: "#0a7d55"
        logo_url: /static/brand/acme.svg   # a path on this server
        support_url: https://help.acme.example

A field set to ``""`` falls back to its setting (``BRAND_NAME``, ``BRAND_PRIMARY_COLOR``, ...).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from branding import services, validation
from core.actors import APPLY
from core.declarative import CHECKS, ConfigError, Result, Section, add_section


def _string(check: Callable[[str], str]) -> Callable[[Any], str]:
    def clean(value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError("must be a string")
        return check(value) if value.strip() else ""

    return clean


SCHEMA = {key: _string(check) for key, check in validation.FIELDS.items()}


def apply_branding(entries: list[dict[str, Any]], result: Result) -> None:
    for entry in entries:
        if services.brand_update(actor=APPLY, **entry):
            result.changes.append("updated branding")


def one_entry(path: str, document: dict[str, list[dict[str, Any]]]) -> None:
    if len(document.get("branding", [])) > 1:
        raise ConfigError(f"{path}: branding must have one entry, not several")


def register() -> None:
    add_section(Section("branding", SCHEMA, "name", apply_branding, key_optional=True))
    if one_entry not in CHECKS:
        CHECKS.append(one_entry)
