"""The outbox: messages rendered (multipart, branded, translated), sent after the commit by the
task, once (idempotent), retried while the server is down; the ``.eml`` default."""

from __future__ import annotations

import time
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from celery.exceptions import Retry
from django.db import transaction
from django.utils import translation

from core.crypto import decrypt
from mail import delivery, services, tasks
from mail.models import Message
from tests.mailbox import html_of, text_of
from tests.ops.servers import free_port

CONTEXT = {"username": "alice", "url": "https://id.example.com/password/reset/T0KEN", "minutes": 30}


def _queue(to: str = "alice@example.com") -> Message:
    with transaction.atomic():
        return services.send(to=to, kind="password_reset", context=CONTEXT)


@pytest.mark.django_db(transaction=True)
def test_a_message_reaches_the_smtp_server_multipart_and_branded(mailbox, settings) -> None:
    settings.BRAND_NAME = "Acme ID"
    settings.BRAND_PRIMARY_COLOR = "#aa3300"
    row = _queue()
    [message] = mailbox.wait("alice@example.com")
    assert message.get_content_type() == "multipart/alternative"
    assert message["Subject"] == "Reset your Acme ID password"
    assert message["Message-ID"] == f"<{row.pk}@localhost>"
    assert message["From"] == settings.DEFAULT_FROM_EMAIL
    assert CONTEXT["url"] in text_of(message)
    html = html_of(message)
    assert "#aa3300" in html and "Acme ID" in html and f'href="{CONTEXT["url"]}"' in html
    row.refresh_from_db()
    assert row.sent_at is not None and row.attempts == 1
    assert row.content == ""  # the link is not kept once sent


@pytest.mark.django_db(transaction=True)
def test_the_message_is_in_the_language_active_when_it_was_queued(mailbox) -> None:
    with translation.override("de"):
        _queue("bob@example.com")
    [message] = mailbox.wait("bob@example.com")
    assert message["Subject"] == "Passwort für authserver zurücksetzen"
    assert "Der Link funktioniert einmal" in text_of(message)


@pytest.mark.django_db
def test_the_content_is_encrypted_at_rest_until_sent(django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        row = services.send(to="a@example.com", kind="password_reset", context=CONTEXT)
    assert len(callbacks) == 1  # handed to the task only once the transaction commits
    stored = Message.objects.get(pk=row.pk).content
    assert "T0KEN" not in stored
    assert b"T0KEN" in decrypt(stored)


@pytest.mark.django_db
def test_a_redelivered_task_sends_once(mailbox, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        row = services.send(to="carol@example.com", kind="password_reset", context=CONTEXT)
    assert tasks.send_task.apply(args=[str(row.pk)]).get() is True
    assert tasks.send_task.apply(args=[str(row.pk)]).get() is False  # acks_late redelivery
    assert len(mailbox.wait("carol@example.com")) == 1
    time.sleep(0.2)
    assert len(mailbox.to("carol@example.com")) == 1


@pytest.mark.django_db
def test_the_task_retries_while_the_server_is_down(
    mailbox, settings, django_capture_on_commit_callbacks
) -> None:
    assert tasks.send_task.acks_late is True
    with django_capture_on_commit_callbacks(execute=False):
        row = services.send(to="dave@example.com", kind="password_reset", context=CONTEXT)
    up = settings.EMAIL_PORT
    settings.EMAIL_PORT = free_port()  # nobody listens there
    with pytest.raises(Retry) as retry:  # scheduled again with a backoff
        tasks.send_task.apply(args=[str(row.pk)], throw=True)
    assert isinstance(retry.value.exc, ConnectionRefusedError) and retry.value.when >= 0
    row.refresh_from_db()
    assert row.attempts == 1
    assert row.sent_at is None and "ConnectionRefusedError" in row.last_error
    settings.EMAIL_PORT = up
    assert tasks.send_task.apply(args=[str(row.pk)]).get() is True
    assert len(mailbox.wait("dave@example.com")) == 1
    row.refresh_from_db()
    assert row.sent_at is not None and row.last_error == ""


@pytest.mark.django_db
def test_lost_messages_are_found_and_old_sent_rows_purged(django_capture_on_commit_callbacks):
    from django.utils import timezone

    with django_capture_on_commit_callbacks(execute=False):
        lost = services.send(to="e@example.com", kind="password_reset", context=CONTEXT)
        fresh = services.send(to="f@example.com", kind="password_reset", context=CONTEXT)
        old = services.send(to="g@example.com", kind="password_reset", context=CONTEXT)
    now = timezone.now()
    Message.objects.filter(pk=lost.pk).update(created_at=now - delivery.LOST_AFTER * 2)
    Message.objects.filter(pk=old.pk).update(sent_at=now - delivery.KEEP_SENT * 2)
    assert delivery.lost() == [lost.pk]
    assert set(Message.objects.values_list("pk", flat=True)) == {lost.pk, fresh.pk}


@pytest.mark.django_db(transaction=True)
def test_without_a_server_the_embedded_default_writes_eml_files(settings, tmp_path, caplog):
    settings.EMAIL_BACKEND = "mail.backends.EmlFileBackend"
    settings.MAIL_DIR = tmp_path / "mail"
    caplog.set_level("INFO", logger="mail.backends")
    row = _queue("erin@example.com")
    deadline = time.monotonic() + 15
    while not list(Path(settings.MAIL_DIR).glob("*.eml")) and time.monotonic() < deadline:
        time.sleep(0.05)
    [path] = Path(settings.MAIL_DIR).glob("*.eml")
    assert str(row.pk) in path.name
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert message["To"] == "erin@example.com"
    assert CONTEXT["url"] in text_of(message) and "<html" in html_of(message)
    deadline = time.monotonic() + 5
    while str(path) not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.05)
    assert f"mail to erin@example.com written to {path}" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_a_broker_that_refuses_the_task_leaves_the_change_committed(monkeypatch, caplog) -> None:
    def refuse(pk: object) -> None:
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks, "dispatch", refuse)
    row = _queue("henry@example.com")  # no error reaches the caller
    stored = Message.objects.get(pk=row.pk)
    assert stored.sent_at is None and stored.content  # flush_outbox_task sends it later
    assert "broker down" in caplog.text
