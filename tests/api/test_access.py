"""Authentication (401), function-level authorisation (403, OWASP API5), error format."""

from __future__ import annotations

import pytest

from accounts.models import User
from core.actors import APPLY
from roles.access import MANAGEMENT_PERMISSIONS
from tests.api.conftest import assert_problem

# (method, path, permission it needs) for one route of every resource and verb kind.
ROUTES = [
    ("GET", "/api/v1/users/", "users:read"),
    ("POST", "/api/v1/users/", "users:write"),
    ("GET", "/api/v1/roles/", "roles:read"),
    ("POST", "/api/v1/roles/", "roles:write"),
    ("GET", "/api/v1/clients/", "clients:read"),
    ("POST", "/api/v1/clients/", "clients:write"),
    ("GET", "/api/v1/users/target/tokens/", "tokens:read"),
    ("GET", "/api/v1/users/target/sessions/", "tokens:read"),
    ("GET", "/api/v1/audit-events/", "audit:read"),
]


def test_no_token_is_401_with_a_bearer_challenge(anonymous):
    response = anonymous.get("/api/v1/users/")
    assert_problem(response, 401, "not-authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header", ["Bearer nonsense", "Bearer ", "Bearer a.b.c", "Basic Zm9vOmJhcg=="]
)
def test_bad_token_is_401(anonymous, header):
    assert_problem(
        anonymous.get("/api/v1/users/", HTTP_AUTHORIZATION=header), 401, "not-authenticated"
    )


def test_revoked_token_fails_at_once(admin):
    from tests.conftest import basic_auth

    assert admin.get("/api/v1/users/").status_code == 200
    revoked = admin.http.post(
        "/o/revoke_token/",
        {"token": admin.token},
        HTTP_AUTHORIZATION=basic_auth(*admin.credentials),
    )
    assert revoked.status_code == 200
    assert_problem(admin.get("/api/v1/users/"), 401, "not-authenticated")


def test_user_token_carries_the_users_permissions(client, web_client, make_user, caller):
    from roles import services as role_services
    from roles.services import AssignmentSpec
    from tests.api.conftest import Api, management_user_token

    user = make_user("olga")
    role_services.role_create(actor=APPLY, name="user-reader", permissions=["users:read"])
    role_services.user_roles_set(user=user, assignments=[AssignmentSpec("user-reader")])
    api = Api(client, management_user_token(client, web_client, "olga"))
    assert api.get("/api/v1/users/").status_code == 200
    assert_problem(api.get("/api/v1/roles/"), 403, "permission-denied")


def test_django_superuser_flag_grants_nothing(client, web_client, make_user):
    from tests.api.conftest import Api, management_user_token

    make_user("root", is_active=True)
    User.objects.filter(username="root").update(is_superuser=True, is_staff=True)
    api = Api(client, management_user_token(client, web_client, "root"))
    assert_problem(api.get("/api/v1/users/"), 403, "permission-denied")


@pytest.mark.parametrize(("method", "path", "permission"), ROUTES)
def test_each_route_needs_its_permission(caller, make_user, method, path, permission):
    make_user("target")
    others = [p for p in MANAGEMENT_PERMISSIONS if p != permission]
    lacking = caller(*others)
    body = {} if method == "POST" else None
    assert_problem(lacking(method, path, body), 403, "permission-denied")
    holding = caller(permission)
    assert holding(method, path, body).status_code != 403


def test_reader_cannot_write_by_verb_swap_or_method_override(caller, make_user):
    make_user("victim")
    reader = caller("users:read", "roles:read")
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        assert_problem(reader(method, "/api/v1/users/victim/", {}), 403, "permission-denied")
    for override in ("DELETE", "PATCH"):
        response = reader.post(
            "/api/v1/users/victim/disable/", HTTP_X_HTTP_METHOD_OVERRIDE=override
        )
        assert_problem(response, 403, "permission-denied")
        response = reader.get("/api/v1/users/victim/", HTTP_X_HTTP_METHOD_OVERRIDE=override)
        assert response.status_code == 200  # still a read: the header is not honoured
    assert User.objects.get(username="victim").is_active


def test_denials_are_audited(caller):
    from audit.models import AuditEvent

    caller("users:read", name="nosy")("GET", "/api/v1/audit-events/")
    event = AuditEvent.objects.get(event="api.denied")
    assert event.outcome == "denied" and event.actor == "client:nosy"


def test_problem_shapes(admin):
    assert_problem(admin.get("/api/v1/users/nobody/"), 404, "not-found")
    assert_problem(admin.get("/api/v1/nothing-here/"), 404, "not-found")
    assert_problem(admin.get("/api/v0/users/"), 404, "not-found")
    assert_problem(admin.get("/api/v1/users"), 404, "not-found")
    response = admin.delete("/api/v1/users/")
    assert_problem(response, 405, "method-not-allowed")
    assert response["Allow"] == "GET, POST, HEAD"
    assert_problem(admin("OPTIONS", "/api/v1/users/"), 405, "method-not-allowed")
    assert_problem(admin.post("/api/v1/users/", [1, 2]), 400, "validation-error")
    bad_json = admin.http.post(
        "/api/v1/users/",
        "{nope",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {admin.token}",
    )
    assert_problem(bad_json, 400, "malformed-request")
    form = admin.http.post(
        "/api/v1/users/", {"username": "x"}, HTTP_AUTHORIZATION=f"Bearer {admin.token}"
    )
    assert_problem(form, 415, "unsupported-media-type")
    assert_problem(admin.get("/api/v1/users/", HTTP_ACCEPT="text/html"), 406, "not-acceptable")


def test_api_sets_no_session_or_csrf_cookie(admin):
    response = admin.get("/api/v1/users/")
    assert not response.cookies


def test_an_unexpected_error_is_a_bare_500_problem(admin, monkeypatch):
    from mgmt import selectors

    def explode(**kwargs):
        raise RuntimeError("SELECT secret FROM /work/wt-api/db")

    monkeypatch.setattr(selectors, "user_list", explode)
    body = assert_problem(admin.get("/api/v1/users/"), 500, "internal-error")
    assert "secret" not in str(body)


@pytest.mark.parametrize("depth", [65, 5_000])
def test_deeply_nested_json_is_a_400_problem(admin, depth):
    """Nesting is bounded (64 levels): 5,000 deep raised RecursionError (a 500), and 65 deep
    reached the serializers."""
    response = admin.http.post(
        "/api/v1/users/",
        '{"a":' * depth + "1" + "}" * depth,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {admin.token}",
    )
    assert_problem(response, 400, "malformed-request")
    assert "nested deeper than 64" in response.json()["detail"]


def test_an_oversized_body_is_a_413_problem(admin):
    response = admin.http.post(
        "/api/v1/users/",
        '{"username": "' + "x" * 2_000_000 + '"}',
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {admin.token}",
    )
    assert_problem(response, 413, "content-too-large")
    assert not User.objects.filter(username__startswith="xxx").exists()
