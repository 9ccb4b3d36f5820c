"""The API contract: a valid OpenAPI document describing every answer, problems that list all
that is wrong, 404s that name what was missing, and the audit filter's actor as shown."""

from __future__ import annotations

import json

import pytest

from audit.services import record
from core.actors import APPLY
from roles import services as role_services
from tests.api.conftest import assert_problem, error_fields

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(client) -> dict:
    response = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return json.loads(response.content)


def test_served_schema_passes_openapi_spec_validator(schema):
    from openapi_spec_validator import validate  # here: its import costs 1.2 s at collection

    validate(schema)  # raises OpenAPIValidationError naming the first violation
    create_user = schema["components"]["schemas"]["UsersApiCreateInputRequest"]["properties"]
    assert "default" not in create_user["email"] and "minLength" not in create_user["email"]


def test_every_operation_describes_its_problems_with_the_problem_schema(schema):
    problem = schema["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail"}
    assert problem["properties"]["errors"]["items"] == {"$ref": "#/components/schemas/ProblemError"}
    field = schema["components"]["schemas"]["ProblemError"]["properties"]["field"]
    assert field["nullable"] is True
    operations = [
        (path, method, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
    ]
    assert len(operations) > 40
    for path, method, operation in operations:
        for status in ("400", "401", "403", "404"):
            response = operation["responses"].get(status)
            assert response is not None, (path, method, status)
            content = response["content"]["application/problem+json"]["schema"]
            assert content == {"$ref": "#/components/schemas/Problem"}, (path, method, status)
        assert "validation-error" in operation["responses"]["400"]["description"]
        assert "/problems/not-found" in operation["responses"]["404"]["description"]
        for status, response in operation["responses"].items():
            assert response.get("description"), (path, method, status)


def test_deletion_of_clients_and_users_is_in_the_schema(schema):
    for path in ("/api/v1/clients/{client_id}/", "/api/v1/users/{username}/"):
        assert "204" in schema["paths"][path]["delete"]["responses"]


def test_a_problem_lists_every_validation_error_unknown_fields_included(admin):
    body = {
        "username": "",
        "email": "not-an-email",
        "is_superuser": True,
        "roles": ["admin"],
    }
    problem = assert_problem(admin.post("/api/v1/users/", body), 400, "validation-error")
    fields = error_fields(problem)
    assert set(fields) == {"username", "email", "is_superuser", "roles"}
    assert fields["is_superuser"] == ["This field is not accepted here."]
    assert fields["roles"] == ["This field is not accepted here."]
    for name in fields:
        assert name in problem["detail"]
    assert admin.get("/api/v1/users/").json()["results"] == []  # nothing half-written


def test_nested_errors_name_their_path(admin):
    body = {"grant_types": ["client_credentials", "telepathy"], "redirect_uris": [1, "x" * 3000]}
    problem = assert_problem(admin.post("/api/v1/clients/", body), 400, "validation-error")
    fields = error_fields(problem)
    assert "grant_types.1" in fields
    assert "redirect_uris.1" in fields


def test_an_error_of_the_whole_request_has_a_null_field(admin):
    problem = assert_problem(admin.post("/api/v1/users/", ["alice"]), 400, "validation-error")
    assert [e["field"] for e in problem["errors"]] == [None]
    assert problem["detail"] == problem["errors"][0]["detail"]


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("PATCH", "/api/v1/users/{user}/", {"name": "A", "is_staff": True}),
        ("POST", "/api/v1/users/{user}/password/", {"password": "x" * 20, "old": "y"}),
        ("PATCH", "/api/v1/clients/{client}/", {"name": "B", "client_secret": "s"}),
        ("POST", "/api/v1/roles/", {"name": "r", "owner": "me"}),
        ("PUT", "/api/v1/users/{user}/roles/viewer/", {"expires_at": None, "why": "x"}),
        ("POST", "/api/v1/ip-blocks/", {"ip": "192.0.2.1", "forever": True}),
        ("POST", "/api/v1/users/{user}/disable/", {"reason": "x"}),
        ("POST", "/api/v1/clients/{client}/secret/", {"length": 64}),
        ("DELETE", "/api/v1/users/{user}/", {"force": True}),
        ("DELETE", "/api/v1/clients/{client}/", {"force": True}),
    ],
)
def test_every_write_names_an_unknown_field(admin, make_user, make_client, method, path, body):
    make_user("ulla")
    make_client(client_id="target")
    role_services.role_create(actor=APPLY, name="viewer", permissions=[])
    url = path.format(user="ulla", client="target")
    problem = assert_problem(admin(method, url, body), 400, "validation-error")
    unknown = next(iter(set(body) - {"name", "password", "ip", "expires_at"}))
    assert unknown in error_fields(problem), problem
    assert error_fields(problem)[unknown] == ["This field is not accepted here."]


@pytest.mark.parametrize(
    "path, detail",
    [
        ("/api/v1/clients/abc/", "Client 'abc' not found."),
        ("/api/v1/users/nobody/", "User 'nobody' not found."),
        ("/api/v1/roles/ghost/", "Role 'ghost' not found."),
        ("/api/v1/apis/77/", "API '77' not found."),
        ("/api/v1/audit-events/123456/", "Audit event '123456' not found."),
        ("/api/v1/ip-blocks/9/", "IP block '9' not found."),
    ],
)
def test_a_404_names_the_resource_kind_and_id(admin, path, detail):
    assert assert_problem(admin.get(path), 404, "not-found")["detail"] == detail


def test_audit_actor_filter_takes_the_actor_as_shown(admin, make_user):
    record("client.updated", actor="client:automation", target="webapp")
    record("user.updated", actor="automation", target="pat")  # a person of the same name
    record("user.updated", actor="client:automation-2", target="pat")
    record("user.updated", actor="apply", target="pat")

    def events(actor: str) -> list[tuple[str, str]]:
        results = admin.get(f"/api/v1/audit-events/?actor={actor}").json()["results"]
        return sorted((e["actor"], e["event"]) for e in results)

    assert events("automation") == [
        ("automation", "user.updated"),
        ("client:automation", "client.updated"),
    ]
    assert events("client:automation") == [("client:automation", "client.updated")]
    assert events("apply") == [("apply", "user.updated")]
    assert events("automat") == []  # exact, not a substring
