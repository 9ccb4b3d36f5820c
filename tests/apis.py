"""Registered APIs for tests, written through the ORM (their services belong to the Api admin)."""

from __future__ import annotations

from oauth.models import Api, Client


def register_api(
    identifier: str, *, client: Client | None = None, lifetime: int | None = None
) -> Api:
    """A registered API (resource server) whose audience is ``identifier``."""
    return Api.objects.create(
        identifier=identifier, name=identifier, client=client, access_token_lifetime=lifetime
    )


def allow_resources(app: Client, *identifiers: str) -> Client:
    """Let the client ``app`` obtain tokens for these APIs (its ``resources``)."""
    app.resources = [*app.resources, *identifiers]
    app.save()
    return app
