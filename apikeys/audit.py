"""Audit events of API keys: the project's one entry point, ``audit.services.record``.

Nothing secret is passed: key ids are public. Refusals carry the source address in ``data``.
"""

from audit.models import AuditEvent
from audit.services import record

SUCCESS = AuditEvent.Outcome.SUCCESS
FAILURE = AuditEvent.Outcome.FAILURE
DENIED = AuditEvent.Outcome.DENIED

__all__ = ["DENIED", "FAILURE", "SUCCESS", "record"]
