"""Cache invalidation across processes: counters, and the change signals that spare a query."""

import threading
import time

import pytest
from django.db import connection

from accounts import selectors as account_selectors
from core import generations
from core.models import Generation


@pytest.fixture
def signalled(settings, monkeypatch, tmp_path):
    """This process uses the change signal of its database (a shared counter file on SQLite,
    LISTEN/NOTIFY on PostgreSQL)."""
    settings.GENERATIONS_SIGNAL = "auto"
    if connection.vendor == "sqlite":  # the test database is in memory: give it a file
        counter = generations.SharedCounter(tmp_path / "db.generations")
        monkeypatch.setattr(generations, "_signal", lambda: counter)
    monkeypatch.setattr(generations, "_signals", {})
    generations.clear_all()
    yield
    generations.stop_listening()  # or the test database cannot be dropped
    generations.clear_all()


def next_request() -> dict[str, int]:
    generations._reset()
    return generations.current()


def test_two_processes_share_the_sqlite_change_counter(tmp_path):
    one = generations.SharedCounter(tmp_path / "x.generations")
    other = generations.SharedCounter(tmp_path / "x.generations")
    before = other.token()
    one.increment()
    assert other.token() == before + 1


@pytest.mark.django_db(transaction=True)
def test_counters_are_read_only_when_the_signal_says_they_moved(
    signalled, django_assert_num_queries
):
    generations.bump("clients")
    deadline = time.monotonic() + 5
    while next_request().get("clients") != 1 and time.monotonic() < deadline:
        time.sleep(0.02)  # PostgreSQL delivers the notification just after the commit
    assert generations.current()["clients"] == 1
    with django_assert_num_queries(0):
        assert next_request()["clients"] == 1
        assert next_request()["clients"] == 1
    generations.bump("clients")  # autocommit: committed, then signalled
    deadline = time.monotonic() + 5
    while next_request().get("clients") != 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert next_request()["clients"] == 2


@pytest.mark.django_db(transaction=True)
def test_a_lost_listening_connection_falls_back_to_reading(signalled, django_assert_num_queries):
    if connection.vendor != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    next_request()
    listener = generations._signal()
    listener._conn.close()
    with django_assert_num_queries(1):
        next_request()  # the broken connection is noticed: read, and listen again later
    assert listener._conn is None
    Generation.objects.filter(name__startswith="roles").delete()  # the row and its shards
    Generation.objects.create(name="roles", value=7)  # a change nobody announced
    with django_assert_num_queries(1):
        assert next_request()["roles"] == 7


@pytest.mark.django_db(transaction=True)
def test_two_writers_that_each_bump_twice_do_not_deadlock(monkeypatch):
    """On PostgreSQL a request's bumps all advance one shard of the counter: two transactions
    that each bump twice (a revocation deleting two tokens) hold one row each, not two in
    opposite orders."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's sharded counters")
    from types import SimpleNamespace

    from django.db import connections, transaction

    before = generations._read().get("access-tokens", 0)
    first, second, done = threading.Event(), threading.Event(), threading.Event()
    failures = []

    def bump_twice():
        generations._reset()  # a request of that thread
        try:
            with transaction.atomic():
                generations.bump("access-tokens")
                first.set()
                second.wait(10)
                generations.bump("access-tokens")
        except Exception as error:  # noqa: BLE001 - the test reports it
            failures.append(error)
        finally:
            done.set()
            connections.close_all()

    holder = threading.Thread(target=bump_twice)
    # what a fresh pick at every bump would take: the holder 0 then 1, this thread 1 then 0
    picks = {True: iter([0, 1]), False: iter([1, 0])}

    def pick(n: int) -> int:
        return next(picks[threading.current_thread() is holder])

    monkeypatch.setattr(generations, "secrets", SimpleNamespace(randbelow=pick))
    holder.start()
    try:
        assert first.wait(10)
        generations._reset()  # a request of this thread
        with transaction.atomic():
            generations.bump("access-tokens")
            second.set()  # the holder bumps again, and commits
            assert done.wait(10)
            generations.bump("access-tokens")
    finally:
        second.set()
        holder.join()
    assert failures == []
    assert generations._read()["access-tokens"] == before + 4


@pytest.mark.django_db
def test_a_deactivated_user_is_seen_at_once_and_a_sign_in_does_not_flush(make_user):
    alice = make_user("alice")
    assert account_selectors.active_user_id("alice") == alice.pk
    before = generations.current().get("users")
    alice.save(update_fields=["last_login"])
    assert next_request().get("users") == before
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    next_request()
    assert account_selectors.active_user_id("alice") is None
    assert account_selectors.active_user_id("nobody") is None
    make_user("nobody")
    next_request()
    assert account_selectors.active_user_id("nobody") is not None


@pytest.mark.django_db
def test_a_change_behind_the_orms_back_is_seen_within_a_minute(make_user, clock):
    from django.contrib.auth import get_user_model

    alice = make_user("alice")
    assert account_selectors.active_user_id("alice") == alice.pk
    get_user_model().objects.filter(pk=alice.pk).update(is_active=False)  # no signal
    next_request()
    assert account_selectors.active_user_id("alice") == alice.pk  # still the cached answer
    clock.advance(61)
    assert account_selectors.active_user_id("alice") is None


@pytest.mark.django_db
def test_revoking_a_user_token_is_seen_by_the_next_introspection(
    code_flow, client, resource_server
):
    from oauth2_provider.models import get_access_token_model

    from tests.conftest import introspect

    access = code_flow.tokens()["access_token"]
    assert introspect(client, resource_server, access)["active"] is True  # row now cached
    get_access_token_model().objects.get().revoke()
    next_request()
    assert introspect(client, resource_server, access) == {"active": False}
