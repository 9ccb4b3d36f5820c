"""Test-only WSGI entry: the production application plus a kill switch a test arms.

``gunicorn tests.ops.killswitch:application`` serves exactly ``authserver.wsgi.application``.
Nothing here is imported by production code. A test arms the switch by writing
``{"path": <prefix>, "mode": <mode>}`` as JSON to the file named by ``KILLSWITCH_ARM``; the next
request whose path starts with the prefix claims it (the file is removed, so the worker the
master starts next serves normally) and runs with a database execute wrapper that records
every write (INSERT, UPDATE, DELETE) made inside a transaction. The worker then SIGKILLs
itself, inside that transaction:

- ``after-first-write``: right after the first write has executed;
- ``before-commit``: when the outermost transaction that wrote is about to commit, i.e. after
  all of its writes.

Before dying it writes what it saw to ``KILLSWITCH_REPORT`` (JSON: the mode, the pid, whether
a transaction was open, and each write as "VERB table"), so the test can show that the kill
really came mid-transaction and after the writes it expects. A request that writes nothing in
a transaction is served normally and reports ``"fired": false``.
"""

from __future__ import annotations

import json
import os
import re
import signal
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from django.db import connections

from authserver.wsgi import application as production_application

MODES = ("after-first-write", "before-commit")
_WRITE = re.compile(  # SQLite's many-to-many adds are INSERT OR IGNORE
    r'^\s*(INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?', re.IGNORECASE
)


_CTE_WRITE = re.compile(
    r'\bAS\s*\(\s*(INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?', re.IGNORECASE
)


def _written(sql: str) -> str:
    """What a statement writes (``INSERT table``, ...), or "" for a read. A statement of
    data-modifying CTEs (PostgreSQL ``WITH s0 AS (UPDATE ...), s1 AS (INSERT ...) SELECT``: the
    token endpoint's rotation) is one write naming each table it writes, in order."""
    if re.match(r"\s*WITH\b", sql, re.IGNORECASE):
        parts = _CTE_WRITE.findall(sql)
    else:
        match = _WRITE.match(sql)
        parts = [(match[1], match[2])] if match else []
    return " ".join(f"{verb.split()[0].upper()} {table}" for verb, table in parts)


def _claim(path: str) -> dict[str, str] | None:
    """The armed spec if it is armed for ``path`` (and disarm it), else None."""
    arm = Path(os.environ["KILLSWITCH_ARM"])
    try:
        spec = json.loads(arm.read_text())
    except FileNotFoundError:
        return None
    if not path.startswith(spec["path"]):
        return None
    arm.unlink()
    if spec.get("mode") not in MODES:
        raise ValueError(f"unknown kill-switch mode {spec.get('mode')!r}")
    return spec


def _report(data: dict[str, Any]) -> None:
    path = Path(os.environ["KILLSWITCH_REPORT"])
    with path.open("w") as handle:
        handle.write(json.dumps(data))
        handle.flush()
        os.fsync(handle.fileno())


class _Switch:
    """Watches one request's database work and kills the process at the armed point."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.connection = connections["default"]
        self.writes: list[str] = []

    def _die(self, point: str) -> None:
        _report(
            {
                "fired": True,
                "mode": self.mode,
                "point": point,
                "pid": os.getpid(),
                "in_transaction": not self.connection.get_autocommit(),
                "writes": self.writes,
            }
        )
        os.kill(os.getpid(), signal.SIGKILL)

    def execute(self, execute: Callable, sql: str, params: Any, many: bool, context: Any) -> Any:
        result = execute(sql, params, many, context)
        written = _written(sql)
        if written and not self.connection.get_autocommit():
            self.writes.append(written)
            if self.mode == "after-first-write":
                self._die("after the first write")
        return result

    def commit(self, original: Callable[[], None]) -> Callable[[], None]:
        def commit() -> None:
            if self.mode == "before-commit" and self.writes:
                self._die("before commit")
            self.writes = []  # a transaction that wrote nothing ends; watch the next one
            original()

        return commit


def application(environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
    spec = _claim(environ.get("PATH_INFO", ""))
    if spec is None:
        return production_application(environ, start_response)
    switch = _Switch(spec["mode"])
    connection = switch.connection
    connection.commit = switch.commit(connection.commit)
    try:
        with connection.execute_wrapper(switch.execute):
            response = production_application(environ, start_response)
    finally:
        del connection.commit  # back to the class's method
    _report({"fired": False, "mode": switch.mode, "writes": switch.writes})
    return response
