"""Changing the stored brand (``manage.py apply``'s ``branding:`` section)."""

from __future__ import annotations

from django.db import transaction

from audit.services import record
from branding import validation
from branding.models import Brand
from core.actors import Actor
from core.request_meta import RequestMeta


def brand_update(*, actor: Actor, meta: RequestMeta | None = None, **fields: str) -> bool:
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
        record("branding.update", actor=actor.audit_name, meta=meta, target="brand", **changed)
    return True
