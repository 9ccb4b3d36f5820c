"""``core.failsoft_cache.FailSoftRedisCache`` while Redis cannot be reached: the database cache
stands in, so every worker and instance still counts in one place (the live outage, with three
workers and the throttles, is tests/ops/test_redis_throttles.py)."""

from __future__ import annotations

import pytest

from core.cache import DatabaseCache
from core.failsoft_cache import FailSoftRedisCache
from tests.ops.servers import free_port

pytestmark = pytest.mark.django_db

PARAMS = {"KEY_PREFIX": "authserver", "RETRY_SECONDS": 60}


def test_while_redis_is_down_the_database_cache_stands_in():
    backend = FailSoftRedisCache(f"redis://127.0.0.1:{free_port()}/0", dict(PARAMS))
    assert backend.add("slot", 1, timeout=30) is True
    assert backend.degraded
    # Another worker's stand-in reads the same rows: the slot is taken, the count is one.
    another_worker = DatabaseCache("default", {"KEY_PREFIX": "authserver"})
    assert another_worker.add("slot", 1, timeout=30) is False
    backend.set("failures", 4, timeout=60)
    assert another_worker.incr("failures") == 5
    assert backend.incr("failures") == 6
