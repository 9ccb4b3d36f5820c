"""Audit export and retention: archives on disk, old rows gone, the chain still verifies."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from audit.services import RETENTION_EVENT, record, seal, verify
from audit.tasks import export_audit_log_task, purge_audit_log_task

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _export_dir(settings, tmp_path):
    settings.AUDIT_EXPORT_DIR = tmp_path / "audit"
    settings.AUDIT_RETENTION_DAYS = 30
    return settings.AUDIT_EXPORT_DIR


def _events(days_ago: int, count: int) -> list[AuditEvent]:
    rows = [
        record("login.failed", actor=f"u{days_ago}-{n}", outcome="failure") for n in range(count)
    ]
    when = timezone.now() - timedelta(days=days_ago)
    AuditEvent.objects.filter(pk__in=[r.pk for r in rows]).update(ts=when)
    return rows


def test_old_events_are_exported_then_deleted_and_the_chain_still_verifies(_export_dir):
    old = _events(45, 3)
    recent = _events(1, 2)

    assert purge_audit_log_task.delay().get() == 3

    assert not AuditEvent.objects.filter(pk__in=[r.pk for r in old]).exists()
    assert AuditEvent.objects.filter(pk__in=[r.pk for r in recent]).count() == 2
    day = (timezone.now() - timedelta(days=45)).date().isoformat()
    lines = (_export_dir / f"audit-{day}.jsonl").read_text().splitlines()
    exported = [json.loads(line) for line in lines]
    assert [e["id"] for e in exported] == [r.pk for r in old]
    assert all(e["hash"] for e in exported)
    assert AuditEvent.objects.filter(event=RETENTION_EVENT).get().data["deleted"] == 3
    assert verify().ok


def test_purging_twice_deletes_nothing_more():
    _events(45, 2)
    assert purge_audit_log_task.delay().get() == 2
    assert purge_audit_log_task.delay().get() == 0
    assert verify().ok


def test_deleting_old_rows_without_a_purge_is_still_detected():
    _events(45, 2)
    purge_audit_log_task.delay().get()
    kept = _events(40, 2)
    seal()
    assert verify().ok
    AuditEvent.objects.filter(pk=kept[0].pk).delete()
    assert verify().broken_at == kept[1].pk


def test_export_of_a_day_is_idempotent(_export_dir):
    _events(2, 3)
    day = (timezone.now() - timedelta(days=2)).date().isoformat()
    first = export_audit_log_task.delay(day).get()
    content = (_export_dir / f"audit-{day}.jsonl").read_text()
    assert export_audit_log_task.delay(day).get() == first
    assert (_export_dir / f"audit-{day}.jsonl").read_text() == content
    assert len(content.splitlines()) == 3
