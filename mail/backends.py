"""The embedded default's mail backend: each message a ``.eml`` file in ``MAIL_DIR``
(``var/mail/``), its path logged, so a developer opens the link without an SMTP server."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

log = logging.getLogger(__name__)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


class EmlFileBackend(BaseEmailBackend):
    def __init__(self, *, fail_silently: bool = False, **kwargs: Any) -> None:
        super().__init__(fail_silently=fail_silently)
        self.directory = Path(settings.MAIL_DIR)

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        for message in email_messages:
            mime = message.message()
            stamp = timezone.now().strftime("%Y%m%dT%H%M%S%f")
            ident = _UNSAFE.sub("", str(mime["Message-ID"] or "").split("@")[0]) or "message"
            path = self.directory / f"{stamp}-{ident}.eml"
            path.write_bytes(mime.as_bytes(linesep="\r\n"))
            path.chmod(0o600)
            log.info("mail to %s written to %s", ", ".join(message.to), path)
        return len(email_messages)
