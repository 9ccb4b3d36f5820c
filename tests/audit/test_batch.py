"""Deferred audit rows: spooled before the response, one multi-row INSERT per batch after it,
never lost on error nor on a crash (a worker SIGKILLed under load: tests/ops/test_audit_crash.py).
"""

import json
import logging
import shutil
import time

import pytest
from django.db import DatabaseError, OperationalError

from audit import batch
from audit.models import AuditEvent
from audit.services import record, seal, verify
from tests.conftest import basic_auth


@pytest.fixture
def spool(settings, tmp_path):
    settings.AUDIT_SPOOL_DIR = tmp_path / "spool"
    return settings.AUDIT_SPOOL_DIR


@pytest.fixture
def batching(settings, spool):
    settings.AUDIT_BATCH_EVENTS = 3
    settings.AUDIT_BATCH_SECONDS = 3600
    yield
    batch.flush()


def issue(http, secret):
    response = http.post(
        "/o/token/",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=basic_auth("svc", secret),
    )
    assert response.status_code == 200


@pytest.mark.django_db(transaction=True)  # autocommit, as in production
def test_token_events_are_stored_a_batch_at_a_time(client, make_client, batching):
    _svc, secret = make_client(client_id="svc")
    issue(client, secret)
    issue(client, secret)
    assert batch.pending() == 2
    assert not AuditEvent.objects.filter(event="token.issued").exists()
    issue(client, secret)  # the third fills the batch; it is stored after the response
    assert batch.pending() == 0
    assert AuditEvent.objects.filter(event="token.issued").count() == 3


@pytest.mark.django_db
def test_events_of_a_rolled_back_transaction_are_not_stored(
    batching, django_capture_on_commit_callbacks
):
    from django.db import transaction

    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            record("token.issued", actor="lost", deferred=True)
            raise RuntimeError("the token was never saved")
        with transaction.atomic():
            record("token.issued", actor="kept", deferred=True)
    assert batch.pending() == 1  # only the committed one, and not stored yet: deferred
    assert not AuditEvent.objects.filter(event="token.issued").exists()
    batch.flush()
    assert list(AuditEvent.objects.values_list("actor", flat=True)) == ["kept"]


@pytest.mark.django_db
def test_rows_survive_a_failed_write_and_go_with_the_next(batching, monkeypatch):
    batch.add(
        {
            "ts": _now(),
            "event": "token.issued",
            "outcome": "success",
            "actor": "svc",
            "target": "",
            "client_id": "svc",
            "ip": None,
            "user_agent": "",
            "request_id": "",
            "data": {},
        }
    )
    real = batch._insert

    def down(rows):
        raise DatabaseError("database is down")

    monkeypatch.setattr(batch, "_insert", down)
    assert batch.flush() == 0 and batch.pending() == 1
    monkeypatch.setattr(batch, "_insert", real)
    assert batch.flush() == 1
    assert AuditEvent.objects.filter(event="token.issued").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_quiet_process_stores_its_rows_after_the_interval(settings, spool):
    settings.AUDIT_BATCH_EVENTS = 100
    settings.AUDIT_BATCH_SECONDS = 0.2
    record("token.issued", actor="svc", deferred=True)  # no transaction: joins the batch now
    stored = AuditEvent.objects.filter(event="token.issued", actor="svc")
    assert not stored.exists()
    deadline = time.monotonic() + 5
    while not stored.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stored.count() == 1 and batch.pending() == 0


def _now():
    from django.utils import timezone

    return timezone.now()


@pytest.mark.django_db
def test_a_large_batch_is_stored_whole(batching):
    for n in range(450):  # more than one statement's worth of rows
        batch.add(
            {
                "ts": _now(),
                "event": "token.issued",
                "outcome": "success",
                "actor": f"svc{n}",
                "target": "",
                "client_id": "svc",
                "ip": "192.0.2.1",
                "user_agent": "",
                "request_id": "",
                "data": {"n": n},
            }
        )
    assert batch.flush() == 450
    stored = AuditEvent.objects.filter(event="token.issued")
    assert stored.count() == 450 and stored.get(actor="svc449").data == {"n": 449}


def _row(actor: str) -> dict:
    return {
        "ts": _now(),
        "event": "token.issued",
        "outcome": "success",
        "actor": actor,
        "target": "",
        "client_id": "svc",
        "ip": "192.0.2.1",
        "user_agent": "",
        "request_id": "",
        "data": {"actor": actor},
    }


def _spooled(spool) -> list[dict]:
    return [json.loads(line) for path in spool.glob("*.jsonl") for line in path.open()]


@pytest.mark.django_db(transaction=True)
def test_each_event_is_in_the_spool_before_the_response(client, make_client, batching, spool):
    _svc, secret = make_client(client_id="svc")
    issue(client, secret)
    issue(client, secret)
    spooled = _spooled(spool)  # what a SIGKILL now would leave for the next process
    assert [row["event"] for row in spooled] == ["token.issued", "token.issued"]
    assert len({row["event_id"] for row in spooled}) == 2
    issue(client, secret)  # the batch is stored: its spool file goes
    assert AuditEvent.objects.filter(event="token.issued").count() == 3
    assert list(spool.iterdir()) == []


def _orphan(spool, actors: list[str]) -> None:
    """A spool file as a killed process leaves it: written, unlocked, never stored."""
    spool.mkdir(parents=True, exist_ok=True)
    lines = b"".join(
        batch._spool_line({**_row(a), "event_id": f"{n:032x}"}) for n, a in enumerate(actors, 1)
    )
    (spool / "4242-dead.jsonl").write_bytes(lines + b'{"ts": "2026-12-')  # cut short


@pytest.mark.django_db
def test_a_dead_process_spool_is_ingested_once_and_chained(batching, spool):
    batch.add(_row("alive"))  # this process's own file: locked, left to this process
    _orphan(spool, ["dead1", "dead2"])
    shutil.copy(spool / "4242-dead.jsonl", spool / "4242-again.jsonl")  # ingested twice
    assert batch.ingest_spools() == 4
    stored = AuditEvent.objects.filter(event="token.issued")
    assert sorted(stored.values_list("actor", flat=True)) == ["dead1", "dead2"]
    assert len(list(spool.iterdir())) == 1 and batch.pending() == 1  # only the live one
    assert batch.flush() == 1
    assert stored.get(actor="dead1").data == {"actor": "dead1"}
    assert seal() == 3 and verify().ok and verify().checked == 3


@pytest.mark.django_db
def test_an_outage_logs_one_line_per_kind_not_a_traceback_per_request(
    batching, spool, monkeypatch, caplog
):
    tried = []

    def down(rows, **kwargs):
        tried.append(len(rows))
        raise OperationalError("connection refused")  # a kind no other test logged

    monkeypatch.setattr(batch, "_insert", down)
    caplog.set_level(logging.INFO, logger="authserver.audit")
    for n in range(200):  # requests finishing during the outage
        batch.add(_row(f"r{n}"))
        batch.flush()
        batch.flush_if_due()  # within the retry interval: no attempt
    assert len(tried) == 200
    errors = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(errors) == 1 and errors[0].exc_info is None
    said = "storing deferred rows failed (OperationalError: connection refused)"
    assert said in errors[0].message
    assert batch.pending() == 200 and len(_spooled(spool)) == 200
    monkeypatch.undo()
    assert batch.flush() == 200 and AuditEvent.objects.count() == 200


@pytest.mark.django_db
def test_the_seal_task_ingests_orphaned_spools_and_chains_them(spool):
    from audit.tasks import seal_audit_log_task

    _orphan(spool, ["dead1"])
    assert seal_audit_log_task() == 1
    assert AuditEvent.objects.get(actor="dead1").hash != "" and verify().ok
    assert list(spool.iterdir()) == []
