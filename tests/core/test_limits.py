"""The one limiter (``core.limits``): fixed windows, failures with backoff, lockouts.

What users see of it is tested per door (tests/accounts/test_login_throttle.py,
tests/oauth/client_auth/test_limits.py, tests/apikeys/test_policy.py, tests/gateway/,
tests/abuse/, tests/mfa/test_login.py); the races between processes in
tests/ops/test_shared_state.py and tests/ops/test_redis_throttles.py.
"""

from __future__ import annotations

import os

import pytest
from django.core.cache import caches

from core import limits
from core.limits import Limit, LimitUnavailable, Rate

pytestmark = pytest.mark.django_db

GUESSES = Limit("test-guesses", failures=3, window=600, backoff=10)


@pytest.fixture
def clock(clock):
    """The project's clock at a round time (window boundaries at multiples of 600 s)."""
    clock.set(1_800_000_000.0)
    return clock


class BrokenStore:
    def __getattr__(self, name: str):
        raise ConnectionError("store down")


def test_a_counter_counts_from_one_in_the_shared_cache():
    assert [limits.count("test:n", 60) for _ in range(3)] == [1, 2, 3]
    assert caches.create_connection("default").get("test:n") == 3  # another process sees it


def test_first_marks_once_per_window_and_forget_clears():
    assert limits.first("test:mark", 60)
    assert not limits.first("test:mark", 60)
    limits.count("test:c", 60)
    assert limits.current("test:c") == 1
    limits.forget("test:mark", "test:c")
    assert limits.current("test:c") == 0
    assert limits.first("test:mark", 60)


def test_a_fixed_window_answers_the_seconds_until_it_resets(clock):
    rate = Rate("test-rate", limit=2, window=60)
    clock.set(1_800_000_015.0)  # 15 s into a window
    assert limits.hit(rate, "k") is None
    assert limits.hit(rate, "k") is None
    assert limits.hit(rate, "k") == 45
    assert limits.hit(rate, "other") is None  # one budget per identity
    clock.set(1_800_000_060.0)  # the next window
    assert limits.hit(rate, "k") is None


def test_a_rate_reads_its_setting_at_each_use_and_zero_is_off(clock, settings):
    rate = Rate("test-setting", limit="API_KEY_RATE_LIMIT")
    settings.API_KEY_RATE_LIMIT = 1
    assert limits.hit(rate, "k") is None
    assert limits.hit(rate, "k") is not None
    settings.API_KEY_RATE_LIMIT = 0
    assert limits.hit(rate, "k") is None


def test_the_failure_that_reaches_the_limit_blocks_and_each_further_one_doubles(clock):
    assert [limits.record_failure((GUESSES, "alice")) for _ in range(5)] == [0, 0, 10, 20, 40]
    assert limits.retry_after((GUESSES, "alice")) == 40
    clock.advance(39.5)
    assert limits.retry_after((GUESSES, "alice")) == 1
    clock.advance(1)
    assert limits.retry_after((GUESSES, "alice")) == 0


def test_a_block_never_outlasts_the_window_or_the_cap():
    assert [GUESSES.block_seconds(n) for n in (2, 3, 8, 9, 100)] == [0, 10, 320, 600, 600]
    capped = Limit("test-cap", failures=1, window=None, backoff=30, cap=3600)
    assert [capped.lock_seconds(n) for n in (1, 2, 7, 8, 50)] == [30, 60, 1920, 3600, 3600]


def test_retry_after_is_the_longest_wait_and_skips_unknown_identities(clock):
    per_ip = Limit("test-ip", failures=1, window=600, backoff=100)
    assert limits.record_failure((GUESSES, "alice"), (per_ip, None)) == 0
    assert limits.record_failure((GUESSES, "alice"), (per_ip, "192.0.2.1")) == 100
    assert limits.retry_after((GUESSES, "alice"), (per_ip, "192.0.2.1")) == 100
    assert limits.retry_after((GUESSES, "alice"), (per_ip, None)) == 0


def test_identities_are_normalized_and_hashed_before_they_become_keys(clock):
    folded = Limit("test-folded", failures=1, window=600, backoff=10, normalize=str.casefold)
    assert limits.record_failure((folded, "Alice")) == 10
    assert limits.retry_after((folded, "ALICE")) == 10
    assert "alice" not in folded.key("block", folded.identity("Alice"))
    blank = Limit("test-blank", failures=1, window=600, backoff=10, normalize=str.strip)
    assert limits.record_failure((blank, "   ")) == 0  # nothing to count


def test_reset_forgets_the_failures_and_lifts_the_block(clock):
    for _ in range(3):
        limits.record_failure((GUESSES, "alice"))
    limits.reset(GUESSES, "alice")
    assert limits.retry_after((GUESSES, "alice")) == 0
    assert [limits.record_failure((GUESSES, "alice")) for _ in range(3)] == [0, 0, 10]


def test_blocks_live_in_the_blocks_store_not_the_counters_cache(clock, settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "blocks": {"BACKEND": "core.cache.DatabaseCache", "LOCATION": "default"},
    }
    for _ in range(3):
        limits.record_failure((GUESSES, "alice"))
    caches["default"].clear()
    assert limits.retry_after((GUESSES, "alice")) == 10


def test_one_attempt_at_a_time_per_identity():
    with limits.one_at_a_time(GUESSES, "alice") as alone:
        assert alone
        with limits.one_at_a_time(GUESSES, "alice") as second:
            assert not second
        with limits.one_at_a_time(GUESSES, "bob") as other:
            assert other
    with limits.one_at_a_time(GUESSES, "alice") as again:
        assert again


def _enter_attempt() -> None:
    with limits.one_at_a_time(GUESSES, "alice"):
        pass


@pytest.mark.parametrize(
    "store, call",
    [
        ("cache", lambda: limits.record_failure((GUESSES, "alice"))),
        ("cache", _enter_attempt),
        ("cache", lambda: limits.reset(GUESSES, "alice")),
        ("_blocks", lambda: limits.retry_after((GUESSES, "alice"))),
        ("_blocks", lambda: limits.reset(GUESSES, "alice")),
    ],
)
def test_an_unreachable_store_raises_limit_unavailable(monkeypatch, store, call):
    monkeypatch.setattr(limits, store, BrokenStore() if store == "cache" else BrokenStore)
    with pytest.raises(LimitUnavailable):
        call()


def test_guarded_turns_any_store_error_into_limit_unavailable():
    with pytest.raises(LimitUnavailable, match="store down"), limits.guarded():
        BrokenStore().get("x")


def test_a_lockout_counted_by_its_owner_cannot_be_counted_here():
    lockout = Limit("test-lockout", failures=5, window=None, backoff=30, cap=3600)
    assert not lockout.reached(4) and lockout.reached(5)
    with pytest.raises(ValueError):
        limits.record_failure((lockout, "alice"))


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="REDIS_URL not set: no shared Redis")
def test_two_processes_sharing_redis_share_the_counters(monkeypatch, clock):
    """Two independent cache clients (one per server process) on one Redis: failures counted
    through either add up, and a block set through one is seen through the other."""
    from django.core.cache.backends.redis import RedisCache

    def process_cache() -> RedisCache:
        return RedisCache(os.environ["REDIS_URL"], {"KEY_PREFIX": "authserver-test-throttle"})

    first, second = process_cache(), process_cache()
    first.clear()
    try:
        for n in range(3):
            monkeypatch.setattr(limits, "cache", first if n % 2 else second)
            assert limits.retry_after((GUESSES, "alice")) == 0
            limits.record_failure((GUESSES, "alice"))
        for shared in (first, second):
            monkeypatch.setattr(limits, "cache", shared)
            assert limits.retry_after((GUESSES, "alice")) > 0
    finally:
        first.clear()
