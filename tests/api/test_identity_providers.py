"""``/api/v1/identity-providers/``: create, list, read, change, delete; the secret write-only,
stored encrypted; the hierarchy guard on role mappings."""

from __future__ import annotations

from audit.models import AuditEvent
from core.actors import APPLY
from federation.models import IdentityProvider
from roles import services as role_services
from roles.access import USERS_READ, USERS_WRITE
from tests.api.conftest import assert_problem, error_fields

SPEC = {
    "slug": "corp",
    "name": "Corp SSO",
    "kind": "oidc",
    "issuer": "https://login.corp.example",
    "client_id": "authserver",
    "client_secret": "s3cret-upstream",
    "scopes": ["openid", "email", "groups"],
    "link_by": "verified_email",
    "provision": True,
}


def test_create_read_change_and_delete(admin):
    created = admin.post("/api/v1/identity-providers/", SPEC)
    assert created.status_code == 201, created.content
    body = created.json()
    assert "client_secret" not in body and body["has_client_secret"] is True
    assert body["redirect_uri"].endswith("/accounts/login/corp/callback/")
    stored = IdentityProvider.objects.get(slug="corp")
    assert "s3cret-upstream" not in stored.client_secret_encrypted
    assert stored.client_secret == "s3cret-upstream"

    path = "/api/v1/identity-providers/corp/"
    assert admin.get(path).json() == body
    assert admin.get("/api/v1/identity-providers/").json()["results"] == [body]
    changed = admin.patch(path, {"name": "Corp", "client_secret": "rotated"})
    assert changed.status_code == 200, changed.content
    assert changed.json()["name"] == "Corp"
    event = AuditEvent.objects.filter(event="identity_provider.updated").get()
    assert event.data["fields"] == ["client_secret", "name"]
    assert "rotated" not in str(event.data)

    assert admin.delete(path).status_code == 204
    assert not IdentityProvider.objects.exists()
    assert admin.get(path).status_code == 404


def test_invalid_input_names_every_field(admin):
    answer = admin.post(
        "/api/v1/identity-providers/",
        {**SPEC, "slug": "Bad Slug", "issuer": "ftp://x", "role_mapping": [{"claim": "g"}]},
    )
    problem = assert_problem(answer, 400, "validation-error")
    assert {"slug", "issuer", "role_mapping"} <= set(error_fields(problem))
    unknown_role = admin.post(
        "/api/v1/identity-providers/",
        {**SPEC, "role_mapping": [{"claim": "groups", "value": "a", "roles": ["nope"]}]},
    )
    assert "unknown role 'nope'" in str(
        error_fields(assert_problem(unknown_role, 400, "validation-error"))
    )


def test_mapping_to_a_role_needs_its_permissions(caller):
    role_services.role_create(actor=APPLY, name="root", permissions=["everything:admin"])
    weak = caller(USERS_READ, USERS_WRITE)
    answer = weak.post(
        "/api/v1/identity-providers/",
        {**SPEC, "role_mapping": [{"claim": "groups", "value": "a", "roles": ["root"]}]},
    )
    assert answer.status_code == 403
    assert not IdentityProvider.objects.exists()


def test_reading_needs_users_read(caller):
    assert caller("clients:read").get("/api/v1/identity-providers/").status_code == 403
