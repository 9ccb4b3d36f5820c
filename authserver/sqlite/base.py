"""Django's SQLite backend with writers queued on a file lock (the embedded mode's database).

SQLite admits one writer at a time. Django's ``BEGIN IMMEDIATE`` makes a second writer wait at
the start of its transaction, but it waits in SQLite's busy handler, which polls with sleeps
that grow to 100 ms. Under a steady stream of write transactions (refresh rotation, audit
batches) the waiting worker keeps missing the moments the lock is free, so some requests waited
one to two seconds. Here each connection first takes an exclusive ``flock`` on a file beside the
database: waiters block in the kernel and the next one runs as soon as the writer commits.
Statements outside a transaction still rely on the busy handler.
"""

from __future__ import annotations

import fcntl
from typing import IO, Any

from django.db.backends.sqlite3 import base


class DatabaseWrapper(base.DatabaseWrapper):
    _writer_lock: IO[bytes] | None = None
    _holds_writer_lock = False

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        connection = super().get_new_connection(conn_params)
        if self.transaction_mode == "IMMEDIATE" and not self.is_in_memory_db():
            # its own open file description, so connections of one process queue too
            self._writer_lock = open(f"{self.settings_dict['NAME']}-writer.lock", "ab")  # noqa: SIM115
        return connection

    def _start_transaction_under_autocommit(self) -> None:
        if self._writer_lock is not None:
            fcntl.flock(self._writer_lock, fcntl.LOCK_EX)
            self._holds_writer_lock = True
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._release_writer_lock()
            raise

    def _commit(self) -> None:
        try:
            super()._commit()
        finally:
            self._release_writer_lock()

    def _rollback(self) -> None:
        try:
            super()._rollback()
        finally:
            self._release_writer_lock()

    def _close(self) -> None:
        try:
            super()._close()
        finally:
            self._release_writer_lock()
            if self._writer_lock is not None:
                self._writer_lock.close()
                self._writer_lock = None

    def _release_writer_lock(self) -> None:
        if self._holds_writer_lock:
            self._holds_writer_lock = False
            fcntl.flock(self._writer_lock, fcntl.LOCK_UN)
