"""Deferred audit rows: one multi-row INSERT per batch, after the response, never lost on error."""

import time

import pytest
from django.db import DatabaseError

from audit import batch
from audit.models import AuditEvent
from audit.services import record
from tests.conftest import basic_auth


@pytest.fixture
def batching(settings):
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
def test_a_quiet_process_stores_its_rows_after_the_interval(settings):
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
