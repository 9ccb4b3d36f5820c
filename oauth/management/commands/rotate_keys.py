"""``python manage.py rotate_keys``: a new active signing key per algorithm.

The previous keys are retired, not deleted: JWKS keeps publishing them until every token they
signed has expired (``oauth.keys.key_retention_seconds``).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from oauth import keys


class Command(BaseCommand):
    help = "Rotate the JWT signing keys (old public keys stay in JWKS until their tokens expire)."

    def handle(self, *args: Any, **options: Any) -> None:
        for key in keys.rotate():
            self.stdout.write(f"new {key.algorithm} signing key kid={key.kid}")
