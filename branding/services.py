"""Changing the stored brand (``manage.py apply``'s ``branding:`` section)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from audit import services as audit
from branding import validation
from branding.models import Brand


def brand_update(*, actor: str, request: Any = None, **fields: str) -> bool:
    """Set the named fields (each checked; an empty string returns the field to its setting);
    returns whether anything changed. The audit event is written in the same transaction."""
    unknown = set(fields) - set(validation.FIELDS)
    if unknown:
        raise ValueError(f"unknown brand fields: {', '.join(sorted(unknown))}")
    cleaned = {k: (validation.FIELDS[k](v) if v.strip() else "") for k, v in fields.items()}
    with transaction.atomic():
        brand, _ = Brand.objects.select_for_update().get_or_create(pk=1)
        changed = {k: v for k, v in cleaned.items() if getattr(brand, k) != v}
        if not changed:
            return False
        for key, value in changed.items():
            setattr(brand, key, value)
        brand.save()
        audit.record("branding.update", actor=actor, target="brand", request=request, **changed)
    return True
