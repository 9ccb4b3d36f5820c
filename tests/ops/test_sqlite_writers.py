"""The embedded mode's SQLite: write transactions of separate connections (gunicorn workers)
queue on a file lock beside the database, so a waiting writer starts when the holder ends instead
of polling SQLite's busy handler, and never fails with "database is locked" while it waits."""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connections, transaction
from django.db.utils import ConnectionHandler

from authserver.sqlite.base import DatabaseWrapper

BUSY_TIMEOUT = 0.05  # seconds SQLite's own busy handler would wait before "database is locked"


def _connection(path: Path, alias: str) -> DatabaseWrapper:
    options = {"transaction_mode": "IMMEDIATE", "timeout": BUSY_TIMEOUT}
    settings = ConnectionHandler().configure_settings(
        {"default": {"ENGINE": "authserver.sqlite", "NAME": str(path), "OPTIONS": options}}
    )
    return DatabaseWrapper(settings["default"], alias)


@pytest.fixture
def database(tmp_path, django_db_blocker) -> Iterator[Path]:
    path = tmp_path / "embedded.sqlite3"
    with django_db_blocker.unblock():
        setup = _connection(path, "setup")
        with setup.cursor() as cursor:
            cursor.execute("CREATE TABLE events (name TEXT)")
        setup.close()
        yield path


def _lock_is_free(path: Path) -> bool:
    with open(f"{path}-writer.lock", "ab") as probe:
        try:
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(probe, fcntl.LOCK_UN)
        return True


def _insert(alias: str, name: str) -> None:
    with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
        cursor.execute("INSERT INTO events (name) VALUES (%s)", [name])


def test_a_second_writer_waits_for_the_first_however_long_it_holds(database):
    first = _connection(database, "first")
    connections["first"] = first
    outcome: list[str] = []

    def second_writer() -> None:
        connections["second"] = _connection(database, "second")
        try:
            _insert("second", "second")
            outcome.append("committed")
        except Exception as error:  # noqa: BLE001 - the failure is the finding
            outcome.append(repr(error))
        finally:
            connections["second"].close()
            del connections["second"]

    try:
        with transaction.atomic(using="first"), first.cursor() as cursor:
            cursor.execute("INSERT INTO events (name) VALUES ('first')")
            waiter = threading.Thread(target=second_writer)
            waiter.start()
            waiter.join(timeout=BUSY_TIMEOUT * 6)
            assert waiter.is_alive(), f"the second writer did not wait: {outcome}"
        waiter.join(timeout=10)
        assert outcome == ["committed"]
        with first.cursor() as cursor:
            cursor.execute("SELECT name FROM events ORDER BY rowid")
            assert [row[0] for row in cursor.fetchall()] == ["first", "second"]
    finally:
        first.close()
        del connections["first"]


def test_the_lock_is_held_only_inside_a_write_transaction(database):
    connections["only"] = only = _connection(database, "only")
    try:
        with only.cursor() as cursor:
            cursor.execute("INSERT INTO events (name) VALUES ('autocommit')")
        assert _lock_is_free(database)
        with transaction.atomic(using="only"):
            assert not _lock_is_free(database)
        assert _lock_is_free(database)
        with pytest.raises(ZeroDivisionError), transaction.atomic(using="only"):
            _insert("only", "rolled back")
            raise ZeroDivisionError
        assert _lock_is_free(database)  # released by the rollback too
        with only.cursor() as cursor:
            cursor.execute("SELECT name FROM events")
            assert [row[0] for row in cursor.fetchall()] == ["autocommit"]
    finally:
        only.close()
        del connections["only"]
