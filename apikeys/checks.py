"""The API keys' security posture (``manage.py check --deploy``, registered in
``ApiKeysConfig.ready``): W003 a live key without expiry."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.checks import Warning

from apikeys.models import ApiKey
from core.checks import over_stored_rows


@over_stored_rows
def key_posture() -> Iterable[Warning]:
    for key in ApiKey.objects.filter(expires_at__isnull=True, revoked_at__isnull=True):
        yield Warning(
            f"API key {key.name!r} ({key.key_id}) never expires.",
            hint="Give keys an expiry (expires_in in the apply file) and rotate them before it.",
            obj=key.key_id,
            id="authserver.W003",
        )
