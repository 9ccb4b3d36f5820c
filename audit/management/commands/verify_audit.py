"""``python manage.py verify_audit``: ingest orphaned audit spools, seal pending events, then
check the hash chain."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from audit.batch import ingest_spools
from audit.services import seal, verify


class Command(BaseCommand):
    help = "Verify the audit log's hash chain (exit 1 if it was tampered with)."

    def handle(self, *args: Any, **options: Any) -> None:
        ingest_spools()
        while seal():
            pass
        result = verify()
        if not result.ok:
            raise CommandError(
                f"audit chain broken at event id {result.broken_at} "
                f"({result.checked} events before it verified)"
            )
        self.stdout.write(f"audit chain intact: {result.checked} events verified")
