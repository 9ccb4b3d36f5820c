"""The API keys' posture in ``manage.py check --deploy`` (apikeys.checks): it fires, and says how
to fix it."""

import pytest

from core.actors import APPLY
from tests.checks import findings

pytestmark = pytest.mark.django_db


def test_api_key_without_expiry(make_client):
    from datetime import timedelta

    from django.utils import timezone

    from apikeys import services as key_services

    owner, _ = make_client(client_id="svc")
    key_services.api_key_create(actor=APPLY, name="forever", client=owner)
    key_services.api_key_create(
        actor=APPLY, name="month", client=owner, expires_at=timezone.now() + timedelta(days=30)
    )
    (finding,) = findings("authserver.W003")
    assert "forever" in finding.msg and "expir" in finding.hint
