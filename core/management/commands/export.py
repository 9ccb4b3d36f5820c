"""``python manage.py export``: the whole configuration as an apply file (core/declarative.py)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from core.declarative import export_text


class Command(BaseCommand):
    help = "Print the configuration as a `manage.py apply` YAML file (secrets are left out)."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(export_text(), ending="")
