"""A real SMTP server in the test process (aiosmtpd) on a free loopback port, and the mailbox
of what it received. One server per test session (``smtp_server``); ``mailbox`` points
``EMAIL_URL``'s settings at it for one test and starts the test with an empty box."""

from __future__ import annotations

import email
import email.policy
import re
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage

import pytest

from mail.url import parse_email_url
from tests.ops.servers import free_port

WAIT_SECONDS = 15.0


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802 (aiosmtpd's hook name)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)  # type: ignore[attr-defined]
        with self._lock:
            self.messages.append(message)  # type: ignore[arg-type]
        return "250 OK"

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [m for m in self.messages if address in str(m["To"])]

    def wait(self, address: str, count: int = 1) -> list[EmailMessage]:
        """The messages to ``address`` once there are ``count`` (sends happen after the
        response, in a thread); a bounded wait."""
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            found = self.to(address)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"{count} message(s) to {address} not received: {self.to(address)}")


def text_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]


def html_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]


def link_in(message: EmailMessage, path: str) -> str:
    """The path (from ``path`` on) of the one-time link in the message's text."""
    found = re.search(rf"https?://[^/\s]+({re.escape(path)}[^\s]+)", text_of(message))
    assert found, text_of(message)
    return found.group(1)


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    controller_module = pytest.importorskip("aiosmtpd.controller", reason="aiosmtpd missing")
    box = Mailbox()
    port = free_port()
    controller = controller_module.Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


@pytest.fixture
def mailbox(smtp_server: tuple[Mailbox, int], settings: object) -> Mailbox:
    box, port = smtp_server
    for name, value in parse_email_url(f"smtp://127.0.0.1:{port}?timeout=5").items():
        setattr(settings, name, value)
    box.clear()
    return box
