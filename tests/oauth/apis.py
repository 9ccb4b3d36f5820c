"""Helpers for tests of registered APIs: register one, and get real tokens carrying its
audience (the code flow of the ``webapp`` client, with the API in its ``resources``)."""

from __future__ import annotations

from typing import Any

from core.actors import APPLY, SystemActor
from oauth import api_services
from oauth import services as client_services
from oauth.apis import audience_of
from oauth.models import Api, Client

ORDERS = "https://orders.example.test/"


def register_api(identifier: str = ORDERS, **spec: Any) -> Api:
    spec.setdefault("name", "Orders API")
    return api_services.api_create(
        actor=SystemActor("test"), spec={"identifier": identifier, **spec}
    )


def allow(client: Client, *identifiers: str) -> None:
    """List ``identifiers`` in the client's ``resources`` (keeping what it lists)."""
    resources = [*client.resources, *identifiers]
    client_services.client_update(actor=APPLY, client=client, spec={"resources": resources})


def tokens_for(code_flow: Any, identifier: str = ORDERS) -> dict[str, Any]:
    """A user's access and refresh token issued for ``identifier`` (RFC 8707 ``resource``)."""
    client = Client.objects.get(client_id=code_flow.client_obj.client_id)
    if identifier not in client.resources:
        allow(client, identifier)
    code, verifier = code_flow.code(resource=audience_of(identifier))
    response = code_flow.exchange(code, verifier)
    assert response.status_code == 200, response.content
    return response.json()
