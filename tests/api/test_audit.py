"""The audit log: every change recorded with it; read-only, filterable, newest first."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from audit.models import AuditEvent
from tests.api.conftest import assert_problem


def events(admin, query: str = "") -> list[dict]:
    response = admin.get(f"/api/v1/audit-events/{query}")
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_each_change_is_recorded_with_actor_and_target(admin, make_user):
    admin.post("/api/v1/users/", {"username": "vic"})
    admin.patch("/api/v1/users/vic/", {"name": "Vic"})
    admin.post("/api/v1/roles/", {"name": "r1"})
    admin.put("/api/v1/users/vic/roles/r1/")
    admin.post("/api/v1/clients/", {"client_id": "c1"})
    admin.post("/api/v1/clients/c1/secret/")
    admin.post("/api/v1/users/vic/disable/")
    recorded = [(e["event"], e["target"]) for e in events(admin, "?actor=client:admin")]
    assert recorded == [
        ("user.disabled", "vic"),
        ("client.secret_rotated", "c1"),
        ("client.created", "c1"),
        ("role.assigned", "user:vic"),
        ("role.created", "r1"),
        ("user.updated", "vic"),
        ("user.created", "vic"),
    ]
    assert all(e["outcome"] == "success" and e["ip"] == "127.0.0.1" for e in events(admin))


def test_a_change_records_who_sent_the_request(admin):
    admin.post(
        "/api/v1/users/",
        {"username": "uma"},
        HTTP_USER_AGENT="ops-script/2",
        HTTP_X_REQUEST_ID="deploy-77",
    )
    event = AuditEvent.objects.get(event="user.created", target="uma")
    assert (event.actor, event.ip) == ("client:admin", "127.0.0.1")
    assert (event.user_agent, event.request_id) == ("ops-script/2", "deploy-77")


def test_a_refused_change_writes_nothing(admin):
    before = AuditEvent.objects.count()
    admin.post("/api/v1/roles/", {"name": "bad", "permissions": ["GET /x*"]})
    admin.post("/api/v1/users/", {"username": "w", "password": "short"})
    assert AuditEvent.objects.count() == before


def test_filters(admin):
    admin.post("/api/v1/users/", {"username": "xena"})
    admin.post("/api/v1/roles/", {"name": "r2"})
    assert [e["event"] for e in events(admin, "?event=role.created")] == ["role.created"]
    assert events(admin, "?target=xena")[0]["event"] == "user.created"
    assert events(admin, "?outcome=denied") == []
    later = (timezone.now() + timedelta(hours=1)).isoformat().replace("+", "%2B")
    assert events(admin, f"?since={later}") == []
    until = [e["event"] for e in events(admin, f"?until={later}")]
    assert sorted(until) == ["role.created", "token.issued", "user.created"]  # + admin's token
    assert_problem(admin.get("/api/v1/audit-events/?outcome=maybe"), 400, "validation-error")
    assert_problem(admin.get("/api/v1/audit-events/?ordering=ip"), 400, "validation-error")
    assert_problem(admin.get("/api/v1/audit-events/?since=yesterday"), 400, "validation-error")


def test_read_only(admin, caller):
    admin.post("/api/v1/roles/", {"name": "r3"})
    event_id = events(admin)[0]["id"]
    assert admin.get(f"/api/v1/audit-events/{event_id}/").json()["event"] == "role.created"
    for method in ("PUT", "PATCH", "DELETE"):
        assert_problem(
            admin(method, f"/api/v1/audit-events/{event_id}/", {}), 405, "method-not-allowed"
        )
    assert_problem(
        caller("users:read")("DELETE", f"/api/v1/audit-events/{event_id}/"),
        403,
        "permission-denied",
    )
    assert AuditEvent.objects.filter(pk=event_id).exists()
    assert_problem(admin.get("/api/v1/audit-events/99999999/"), 404, "not-found")
