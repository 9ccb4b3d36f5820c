"""gunicorn's logs as one JSON object per line (``logger_class`` in gunicorn.conf.py).

The query string and the Referer are left out: they can carry an ``id_token_hint`` or a code;
the token of a one-time link (``/setup/<token>``, ``/password/reset/<token>``,
``/email/verify/<token>``, ``/email/change/<token>``, ``/invitation/<token>``) is masked.
"""

from __future__ import annotations

import json
import re
import traceback
from datetime import UTC, datetime
from typing import Any

from gunicorn.glogging import Logger

from core.logs import JsonFormatter

_ONE_TIME_LINK = re.compile(r"^/(setup|password/reset|email/verify|email/change|invitation)/[^/]+")


def _path(environ: dict[str, Any]) -> str:
    return _ONE_TIME_LINK.sub(r"/\1/<token>", environ.get("PATH_INFO", "-"))


def _header(headers: list[tuple[str, str]], name: str) -> str:
    for key, value in headers:
        if key.lower() == name:
            return value
    return "-"


class JsonLogger(Logger):
    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.setFormatter(JsonFormatter())

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        if not self.access_log_enabled:
            return
        entry = {
            "ts": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "level": "INFO",
            "logger": "gunicorn.access",
            "request_id": _header(resp.headers, "x-request-id"),
            "remote": environ.get("REMOTE_ADDR", "-"),
            "method": environ.get("REQUEST_METHOD", "-"),
            "path": _path(environ),
            "status": resp.status_code,
            "bytes": getattr(resp, "sent", 0),
            "duration_ms": round(request_time.total_seconds() * 1000, 2),
            "user_agent": environ.get("HTTP_USER_AGENT", "-")[:256],
        }
        try:
            self.access_log.info(json.dumps(entry, ensure_ascii=False))
        except Exception:  # noqa: BLE001 - gunicorn's own behaviour: report, never crash
            self.error(traceback.format_exc())
