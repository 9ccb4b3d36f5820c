"""A failure after a service's change and its audit event: both must roll back together."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

from audit.models import AuditEvent


class AfterAudit(Exception):
    """What fails in the service's transaction once the change and its event are written."""


def fail_after_audit(monkeypatch: pytest.MonkeyPatch, module: ModuleType) -> None:
    """Make ``module``'s ``record`` write its event and then raise ``AfterAudit``."""
    real = module.record

    def record_then_fail(*args: Any, **kwargs: Any) -> Any:
        real(*args, **kwargs)
        raise AfterAudit

    monkeypatch.setattr(module, "record", record_then_fail)


def events(name: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(event=name))
