"""The database cache (``core.cache.DatabaseCache``): Django's cache API, expiry by the clock,
increments done by the database (races between processes: tests/ops/test_shared_state.py)."""

from __future__ import annotations

import pytest
from django.db import connection

from core import cache as backend
from core.models import CacheEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock(clock):
    """The project's clock at a round time (window boundaries at multiples of 600 s)."""
    clock.set(1_000_000.0)
    return clock


@pytest.fixture
def cache():
    """The backend on the test database (the embedded mode's ``default`` cache; with
    ``REDIS_URL`` the ``default`` cache is Redis, and this one is built here all the same)."""
    return backend.DatabaseCache("default", {})


def test_values_round_trip_as_json_and_ints_stay_ints(cache):
    cache.set("n", 7)
    cache.set("f", 1.5)
    cache.set("doc", {"a": [1, "x"]})
    cache.set("flag", True)
    assert cache.get_many(["n", "f", "doc", "flag", "missing"]) == {
        "n": 7,
        "f": 1.5,
        "doc": {"a": [1, "x"]},
        "flag": True,
    }
    assert type(cache.get("flag")) is bool
    assert CacheEntry.objects.get(cache_key=cache.make_key("n")).number == 7


def test_add_stores_only_over_nothing_or_an_expired_value(cache, clock):
    assert cache.add("k", 1, timeout=10)
    assert not cache.add("k", 2, timeout=10)
    assert cache.get("k") == 1
    clock.advance(10)
    assert cache.get("k") is None
    assert cache.add("k", 3, timeout=10)
    assert cache.get("k") == 3


def test_incr_adds_in_the_database_and_refuses_a_missing_or_expired_key(cache, clock):
    with pytest.raises(ValueError):
        cache.incr("c")
    cache.add("c", 1, timeout=5)
    assert cache.incr("c") == 2
    assert cache.incr("c", 10) == 12
    assert cache.decr("c", 2) == 10
    clock.advance(5)
    with pytest.raises(ValueError):
        cache.incr("c")


def test_an_increment_is_one_statement(cache, django_assert_max_num_queries):
    cache.add("c", 1)
    with django_assert_max_num_queries(1) as queries:
        cache.incr("c")
    assert "number = number +" in queries.captured_queries[0]["sql"]


def test_timeouts_none_forever_zero_never(cache, clock):
    cache.set("forever", 1, timeout=None)
    cache.set("gone", 1, timeout=0)
    clock.advance(10**9)
    assert cache.get("forever") == 1
    assert not cache.has_key("gone")
    assert cache.touch("forever", timeout=1)
    clock.advance(1)
    assert cache.get("forever") is None
    assert not cache.touch("forever")


def test_delete_and_clear(cache):
    cache.set_many({"a": 1, "b": 2, "c": 3})
    assert cache.delete("a")
    assert not cache.delete("a")
    cache.delete_many(["b", "missing"])
    assert cache.get_many(["a", "b", "c"]) == {"c": 3}
    cache.clear()
    assert not CacheEntry.objects.exists()


def test_expired_rows_are_deleted_every_cull_every_writes(cache, clock, monkeypatch):
    monkeypatch.setattr(backend, "CULL_EVERY", 3)
    monkeypatch.setattr(cache, "_writes", 0)
    cache.set("old", 1, timeout=1)
    clock.advance(2)
    cache.set("new", 1, timeout=60)
    assert CacheEntry.objects.count() == 2  # expired, not yet deleted
    cache.set("newer", 1, timeout=60)  # the third write culls
    assert sorted(CacheEntry.objects.values_list("cache_key", flat=True)) == [
        cache.make_key("new"),
        cache.make_key("newer"),
    ]


def test_nothing_live_is_ever_evicted(cache):
    """LocMemCache keeps 300 entries: 300 made-up usernames would push a real account's
    failure count out. Here every live counter stays, however many there are."""
    for n in range(400):
        cache.add(f"k{n}", n)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {backend.TABLE}")  # noqa: S608
        assert cursor.fetchone()[0] == 400
    assert cache.get("k0") == 0
