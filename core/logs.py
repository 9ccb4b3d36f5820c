"""Structured logging: one JSON object per line, each carrying the request id.

The request id lives in a context variable set by ``RequestIdMiddleware`` and cleared when the
response is finished, so every line logged while serving a request (ours, Django's, DOT's) names
it. JSON encoding escapes control characters: a username containing CR/LF stays on one line.
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

NO_REQUEST = "-"
request_id_var: ContextVar[str] = ContextVar("request_id", default=NO_REQUEST)


def current_request_id() -> str:
    return request_id_var.get()


def reset_request_id(**kwargs: Any) -> None:
    """``request_finished`` receiver: lines logged between requests carry no stale id."""
    request_id_var.set(NO_REQUEST)


class RequestIdFilter(logging.Filter):
    """Adds ``record.request_id`` (``-`` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "request_id", "message"[, "exc"]}`` on a single line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", request_id_var.get()),
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)
