"""authserver.E001: throttle and abuse counters must not sit in a per-process cache while
several gunicorn workers serve (each worker would count alone)."""

import pytest
from django.core.checks import run_checks

LOCMEM = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
DUMMY = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}


def findings():
    return [m for m in run_checks() if m.id == "authserver.E001"]


def test_the_default_configuration_shares_the_counters(monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "5")
    assert findings() == []


def test_a_process_local_cache_with_several_workers_is_an_error(monkeypatch, settings):
    monkeypatch.setenv("WEB_CONCURRENCY", "5")
    settings.CACHES = LOCMEM
    (finding,) = findings()
    assert finding.is_serious()  # an Error: `manage.py migrate` (and so `make run`) stops
    assert "LocMemCache" in finding.msg and "5 workers" in finding.msg
    assert "REDIS_URL" in finding.hint and "WEB_CONCURRENCY=1" in finding.hint


@pytest.mark.parametrize("cpus, workers", [(1, 2), (2, 2), (8, 8)])
def test_without_web_concurrency_there_is_a_worker_per_cpu_and_at_least_two(
    monkeypatch, settings, cpus, workers
):
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    monkeypatch.setattr("multiprocessing.cpu_count", lambda: cpus)
    settings.CACHES = LOCMEM
    (finding,) = findings()
    assert f"{workers} workers" in finding.msg


def test_one_worker_may_count_in_its_own_memory(monkeypatch, settings):
    monkeypatch.setenv("WEB_CONCURRENCY", "1")
    settings.CACHES = LOCMEM
    assert findings() == []


@pytest.mark.parametrize("workers", ["1", "3"])
def test_a_cache_that_stores_nothing_never_holds_a_limit(monkeypatch, settings, workers):
    monkeypatch.setenv("WEB_CONCURRENCY", workers)
    settings.CACHES = DUMMY
    (finding,) = findings()
    assert "DummyCache" in finding.msg
