"""The audit log: events are recorded cleansed, chained, and tampering is detected."""

import pytest
from django.core.management import CommandError, call_command

from audit.models import AuditEvent
from audit.services import record, seal, verify

pytestmark = pytest.mark.django_db


def test_record_cleanses_secrets_and_logs_one_json_line(caplog):
    caplog.set_level("INFO", logger="authserver.audit")
    record("client.created", actor="admin", target="webapp", client_secret="s3cr3t", note="ok")
    row = AuditEvent.objects.get()
    assert row.data == {"client_secret": "********", "note": "ok"}
    lines = [r.getMessage() for r in caplog.records if r.name == "authserver.audit"]
    assert len(lines) == 1 and "s3cr3t" not in lines[0] and '"audit": "client.created"' in lines[0]


def test_sealed_chain_verifies_and_detects_tampering(capsys):
    for n in range(5):
        record("login.failed", actor=f"user{n}", outcome="failure")
    assert seal() == 5
    assert verify().ok
    call_command("verify_audit")
    assert "5 events verified" in capsys.readouterr().out

    victim = AuditEvent.objects.order_by("id")[2]
    AuditEvent.objects.filter(pk=victim.pk).update(actor="someone-else")
    result = verify()
    assert result.broken_at == victim.pk
    with pytest.raises(CommandError, match=f"broken at event id {victim.pk}"):
        call_command("verify_audit")


def test_deleting_a_sealed_event_breaks_the_chain():
    for n in range(3):
        record("token.revoked", actor=f"c{n}")
    seal()
    AuditEvent.objects.order_by("id")[1].delete()
    assert not verify().ok


def test_events_recorded_after_a_seal_are_chained_onto_it():
    record("a")
    seal()
    record("b")
    assert verify().unsealed == 1
    seal()
    result = verify()
    assert result.ok and result.checked == 2 and result.unsealed == 0
