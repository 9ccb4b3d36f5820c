"""Audit events of API keys, through one seam.

The audit app (``audit.services.record``) is on ``main`` and not yet on this branch's base
(``rbac``). This function has ``record``'s signature (minus ``request``) and writes the same JSON
line on the same logger (``authserver.audit``), so after the merge it becomes
``from audit.services import record`` and the callers and tests stay as they are (the source
address travels in ``data`` as ``ip``). Nothing secret is passed: key ids are public.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.utils import timezone

log = logging.getLogger("authserver.audit")

SUCCESS = "success"
FAILURE = "failure"
DENIED = "denied"


def record(
    event: str,
    *,
    actor: str = "",
    target: str = "",
    outcome: str = SUCCESS,
    client_id: str = "",
    **data: Any,
) -> None:
    log.info(
        json.dumps(
            {
                "audit": event,
                "outcome": outcome,
                "actor": str(actor)[:255],
                "target": str(target)[:255],
                "client_id": str(client_id)[:255],
                "ts": timezone.now().isoformat(),
                "data": data,
            },
            default=str,
        )
    )
