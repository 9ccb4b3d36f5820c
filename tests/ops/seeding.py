"""Seeding run inside a server's environment (``manage.py shell`` code of tests/ops)."""

from __future__ import annotations

from typing import Any

from core.actors import APPLY


def client_create(spec: dict[str, Any]) -> tuple[Any, str]:
    """A client from ``spec`` (the service apply uses); ``spec["api"]``, if any, is the
    identifier of the registered API whose client it is (it introspects as that API)."""
    from oauth import services
    from oauth.models import Api

    spec = dict(spec)
    api = spec.pop("api", None)
    client, secret = services.client_create(actor=APPLY, spec=spec)
    if api:
        Api.objects.create(identifier=api, name=client.name, client=client)
    return client, secret
