"""``python manage.py apply FILE.yaml [--json]``: see core/declarative.py."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.declarative import ConfigError, apply_file


class Command(BaseCommand):
    help = "Create or update clients and users from a YAML file, idempotently."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = apply_file(options["file"])
        except ConfigError as exc:
            raise CommandError(str(exc)) from None
        if options["json"]:
            self.stdout.write(json.dumps(result.sections, sort_keys=True))
            return
        for line in result.changes or ["nothing to change"]:
            self.stdout.write(line)
        for section, entries in result.sections.items():
            for name, data in entries.items():
                secrets = {k: v for k, v in data.items() if k not in ("client_id", "id")}
                if secrets:
                    self.stdout.write(f"{section} {name}: shown once: {json.dumps(secrets)}")
