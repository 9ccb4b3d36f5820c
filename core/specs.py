"""Checking a spec (the fields a service is asked to set) against per-field checkers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.core.exceptions import ValidationError


def checked(
    spec: Mapping[str, Any], checks: Mapping[str, Callable[[Any], Any]], noun: str
) -> dict[str, Any]:
    """The values ``spec`` asks for, each through its checker (which returns the value or
    raises ``ValueError(message)``); every invalid or unknown field is named in one
    ``ValidationError`` (``noun``: "an API", in "not a field of an API")."""
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    for field, value in spec.items():
        check = checks.get(field)
        if check is None:
            errors[field] = [f"not a field of {noun}"]
            continue
        try:
            values[field] = check(value)
        except ValueError as exc:
            errors[field] = [str(exc)]
    if errors:
        raise ValidationError(errors)
    return values
