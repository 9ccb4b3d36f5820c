"""``manage.py bootstrap_admin``: the first administrator.

- no options: print a fresh one-time setup link (older ones stop working);
- ``--username u --email e``: create the administrator now, the password read from stdin
  (automation; audited ``setup.admin_created``);
- ``--announce``: what ``make run`` prints before serving: the console, discovery and API-docs
  URLs, then, only while no administrator exists, a fresh setup link as the last line.
"""

from __future__ import annotations

import sys
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from setup import services


class Command(BaseCommand):
    help = "Print a one-time setup link for the first administrator, or create one."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", help="create this administrator (password on stdin)")
        parser.add_argument("--email", help="the administrator's email (with --username)")
        parser.add_argument(
            "--announce",
            action="store_true",
            help="print the server's URLs, and a setup link only while no administrator exists",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["username"] or options["email"]:
            self._create(options["username"], options["email"])
        elif options["announce"]:
            # The link first: its audit line (stderr) then comes before everything printed.
            link = None if services.administrator_exists() else services.issue_link()
            issuer = settings.ISSUER_URL
            self.stdout.write(f"Console:   {issuer}/console/")
            self.stdout.write(f"Discovery: {issuer}/.well-known/openid-configuration")
            self.stdout.write(f"API docs:  {issuer}/api/v1/docs/")
            if link is not None:
                self.stdout.write("No administrator yet; create one (once, within 24 h) at:")
                self.stdout.write(link)
        else:
            self.stdout.write(services.issue_link())

    def _create(self, username: str | None, email: str | None) -> None:
        if not (username and email):
            raise CommandError("--username and --email go together (the password on stdin)")
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise CommandError("no password on stdin")
        try:
            services.create_administrator(
                username=username, email=email, password=password, actor=services.COMMAND
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stdout.write(f"Created administrator {username!r} (role superadmin).")
