"""``python manage.py revoke_api_key <key id>``: revoke a key and the tokens exchanged for it."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apikeys import credentials, services
from apikeys.models import ApiKey
from core.actors import SystemActor


class Command(BaseCommand):
    help = "Revoke an API key (by its public key id, e.g. 3f2a9c0e1b7d4a65) at once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("key_id", help="the key id: the part after ask_ and before the secret")

    def handle(self, *args: Any, **options: Any) -> None:
        key_id = options["key_id"].removeprefix(credentials.PREFIX)
        if not credentials.KEY_ID_RE.fullmatch(key_id):
            raise CommandError("a key id is 16 hex characters, e.g. 3f2a9c0e1b7d4a65")
        key = ApiKey.objects.filter(key_id=key_id).first()
        if key is None:
            raise CommandError(f"no API key {key_id}")
        if services.api_key_revoke(key=key, actor=SystemActor("cli"), via="revoke_api_key"):
            self.stdout.write(f"revoked API key {key_id} ({key.name})")
        else:
            self.stdout.write(f"API key {key_id} was already revoked")
