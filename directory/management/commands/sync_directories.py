"""``manage.py sync_directories [slug ...]``: run the directory sync now."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from directory import services
from directory.models import Directory


class Command(BaseCommand):
    help = (
        "Check linked users against their directories now: users gone from one (or no longer "
        "matching its user filter) are disabled, the others' profile and mapped roles refreshed."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "slugs", nargs="*", help="only these directories (default: every one with sync on)"
        )

    def handle(self, *args: Any, slugs: list[str], **options: Any) -> None:
        if slugs:
            found = {d.slug: d for d in Directory.objects.filter(slug__in=slugs)}
            missing = [s for s in slugs if s not in found]
            if missing:
                raise CommandError(f"unknown directory: {', '.join(missing)}")
            results = [services.sync_directory(found[s]) for s in slugs]
        else:
            results = services.sync_all()
        failed = False
        for result in results:
            if result.error:
                failed = True
                self.stderr.write(f"{result.directory}: failed: {result.error}")
            else:
                self.stdout.write(
                    f"{result.directory}: {result.checked} checked, {result.disabled} disabled"
                )
        if failed:
            raise CommandError("a directory could not be synced")
