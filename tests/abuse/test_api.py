"""/api/v1/ip-blocks/: list, block, lift; security:read / security:write; problem details."""

from __future__ import annotations

import pytest

from abuse import services
from abuse.models import IpBlock
from audit.models import AuditEvent
from tests.abuse.conftest import ATTACKER
from tests.api.conftest import assert_problem

pytestmark = pytest.mark.django_db


def test_block_list_and_lift(caller):
    api = caller("security:read", "security:write", name="secops")
    created = api.post(
        "/api/v1/ip-blocks/", {"network": ATTACKER, "seconds": 600, "reason": "scanner"}
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["network"], body["created_by"]) == (f"{ATTACKER}/32", "client:secops")
    again = api.post("/api/v1/ip-blocks/", {"network": ATTACKER, "seconds": 60, "reason": "x"})
    assert again.status_code == 200 and again.json()["id"] == body["id"]  # nothing changed
    assert [b["id"] for b in api.get("/api/v1/ip-blocks/").json()["results"]] == [body["id"]]
    assert api.delete(f"/api/v1/ip-blocks/{body['id']}/").status_code == 204
    assert api.get("/api/v1/ip-blocks/").json()["results"] == []
    ended = api.get("/api/v1/ip-blocks/?include_ended=true").json()["results"]
    assert ended[0]["lifted_by"] == "client:secops"
    assert AuditEvent.objects.filter(event__in=["ip.blocked", "ip.unblocked"]).count() == 2


def test_reading_does_not_allow_writing(caller):
    api = caller("security:read", name="viewer")
    block = services.ip_block(network=ATTACKER, seconds=600, reason="x", actor=None).block
    assert api.get(f"/api/v1/ip-blocks/{block.pk}/").status_code == 200
    assert_problem(api.delete(f"/api/v1/ip-blocks/{block.pk}/"), 403, "permission-denied")
    assert IpBlock.objects.get().lifted_at is None


def test_bad_input_is_a_validation_problem(caller, settings):
    settings.ABUSE_IP_ALLOWLIST = ["10.0.0.0/8"]
    api = caller("security:read", "security:write", name="writer")
    for body in (
        {"network": "not-an-ip", "seconds": 60, "reason": "x"},
        {"network": "10.0.0.5", "seconds": 60, "reason": "x"},
        {"network": ATTACKER, "seconds": 0, "reason": "x"},
        {"network": ATTACKER, "seconds": 60, "reason": "x", "created_by": "auto"},
    ):
        assert_problem(api.post("/api/v1/ip-blocks/", body), 400, "validation-error")
    assert_problem(api.get("/api/v1/ip-blocks/999/"), 404, "not-found")
    assert not IpBlock.objects.exists()
