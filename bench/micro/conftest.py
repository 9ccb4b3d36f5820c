"""Fixtures for the in-process micro-benchmarks (``make bench-micro``; not part of the tests)."""

from __future__ import annotations

import base64

import pytest
from django.test import Client as HttpClient

from core import generations
from core.actors import APPLY
from oauth import keys
from oauth import services as client_services


@pytest.fixture(autouse=True)
def _fresh_caches():
    generations.clear_all()
    keys.clear_cache()
    yield
    generations.clear_all()
    keys.clear_cache()


@pytest.fixture
def machine_client(db):
    """A confidential client-credentials client and its one-time secret."""
    return client_services.client_create(
        actor=APPLY,
        spec={
            "client_id": "micro-m2m",
            "type": "confidential",
            "grant_types": ["client_credentials"],
            "scopes": ["api:read"],
        },
    )


@pytest.fixture
def access_token(machine_client) -> str:
    """A JWT access token issued by the real token endpoint (so its checksum row exists)."""
    client, secret = machine_client
    basic = base64.b64encode(f"{client.client_id}:{secret}".encode()).decode()
    response = HttpClient().post(
        "/o/token/",
        {"grant_type": "client_credentials", "scope": "api:read"},
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )
    assert response.status_code == 200, response.content
    return response.json()["access_token"]
