"""``manage.py export``: the configuration as an apply file; export, apply, export round trips."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command

from accounts.models import User
from apikeys.models import ApiKey
from branding.models import Brand
from core import declarative
from oauth.apis import MANAGEMENT
from oauth.models import Api, Client
from roles.models import Role
from tests.configfiles import apply

pytestmark = pytest.mark.django_db

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

EXTRA = """
branding:
  - name: Acme sign-in
    primary_color: "#0a7d55"
apis:
  - identifier: management
    name: Admin API
    access_token_lifetime: 600
clients:
  - client_id: cli
    name: Command line
    type: public
    grant_types: [authorization_code, device_code]
    redirect_uris: ["http://127.0.0.1/callback", "http://127.0.0.1/other"]
    post_logout_redirect_uris: ["http://127.0.0.1/bye"]
    scopes: [openid]
    access_token_lifetime: 120
    require_mfa: true
  - client_id: backend
    roles: [service-account]
users:
  - username: alice
    roles: [user, {name: admin, expires: "2031-05-01T12:00:00Z"}]
    mfa_required: true
  - username: bob
    is_active: false
api_keys:
  - name: billing-sync
    client: backend
    description: nightly sync
    roles: [service-account]
    expires_in: 7776000
    allowed_ips: [203.0.113.0/24]
  - name: laptop
    user: alice
    roles: [read-only]
"""


def export() -> str:
    out = StringIO()
    call_command("export", stdout=out)
    return out.getvalue()


def empty_the_server() -> None:
    """Back to a freshly migrated database (the built-in API as its migration made it)."""
    ApiKey.objects.all().delete()
    Api.objects.filter(builtin=False).delete()
    builtin = Api.objects.filter(identifier=MANAGEMENT)
    builtin.update(name="Management API", access_token_lifetime=None)
    Client.objects.all().delete()
    User.objects.all().delete()
    Role.objects.all().delete()
    Brand.objects.all().delete()


def test_export_apply_onto_an_empty_server_export_again_is_identical(tmp_path):
    apply(tmp_path, (EXAMPLES / "roles.yaml").read_text())
    apply(tmp_path, (EXAMPLES / "quickstart.yaml").read_text())
    apply(tmp_path, EXTRA)
    first = export()

    empty_the_server()
    assert not User.objects.exists()
    apply(tmp_path, first)

    assert export() == first
    assert User.objects.get(username="alice").has_usable_password() is False
    assert Client.objects.get(client_id="webapp").client_secret  # a new secret, shown once


def test_the_export_says_secrets_are_left_out_and_carries_none(tmp_path):
    apply(tmp_path, (EXAMPLES / "quickstart.yaml").read_text())
    apply(tmp_path, "apis: [{identifier: management, name: Admin API, access_token_lifetime: 600}]")
    text = export()
    assert text.startswith("# authserver configuration")
    assert "Secrets are not exported" in text
    body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    assert "password:" not in body and "client_secret:" not in body and "change me" not in body
    document = yaml.safe_load(text)
    assert list(document) == ["clients", "apis", "users"]
    webapp = next(c for c in document["clients"] if c["client_id"] == "webapp")
    assert webapp == {
        "client_id": "webapp",
        "name": "Example web app",
        "type": "confidential",
        "grant_types": ["authorization_code", "refresh_token"],
        "redirect_uris": ["http://127.0.0.1:5000/callback"],
        "post_logout_redirect_uris": [],
        "scopes": ["openid", "profile", "email", "offline_access", "orders:read"],
        "skip_consent": True,
        "token_endpoint_auth_method": "client_secret_basic",
        "id_token_signed_response_alg": "RS256",
        "require_mfa": False,
        "is_active": True,
        "resources": ["https://orders.example.com/"],
    }
    assert document["apis"][0] == {
        "identifier": "management",
        "name": "Admin API",
        "access_token_lifetime": 600,
    }
    assert document["users"] == [
        {
            "username": "alice",
            "email": "alice@example.com",
            "name": "Alice Example",
            "is_active": True,
            "mfa_required": False,
        }
    ]


def test_roles_come_parents_first_with_assignments_and_their_expiry(tmp_path):
    apply(tmp_path, (EXAMPLES / "roles.yaml").read_text())
    apply(tmp_path, (EXAMPLES / "quickstart.yaml").read_text())
    apply(tmp_path, EXTRA)
    document = yaml.safe_load(export())
    names = [r["name"] for r in document["roles"]]
    for role in document["roles"]:
        for parent in role.get("parents", []):
            assert names.index(parent) < names.index(role["name"])
    admin = next(r for r in document["roles"] if r["name"] == "admin")
    assert admin["parents"] == ["service-account", "user"] and admin["require_mfa"] is True
    alice = next(u for u in document["users"] if u["username"] == "alice")
    assert alice["roles"] == [{"name": "admin", "expires": "2031-05-01T12:00:00+00:00"}, "user"]
    backend = next(c for c in document["clients"] if c["client_id"] == "backend")
    assert backend["roles"] == ["service-account"]
    assert document["api_keys"][0] == {
        "name": "billing-sync",
        "client": "backend",
        "description": "nightly sync",
        "roles": ["service-account"],
        "expires_in": 7776000,
        "allowed_ips": ["203.0.113.0/24"],
    }


def test_an_empty_server_exports_the_builtin_api_only():
    document = yaml.safe_load(export())
    assert document == {"apis": [{"identifier": "management", "name": "Management API"}]}


PLANNED = """
roles:
  - name: read-only
    permissions: ["GET /api/**"]
  - name: auditor
    permissions: [audit:read]
clients:
  - client_id: webapp
    name: Renamed web app
  - client_id: backend
    name: Example backend service
  - name: generated id
    type: public
    grant_types: [authorization_code]
    redirect_uris: ["http://127.0.0.1/cb"]
"""


def test_the_dry_run_lists_created_changed_and_left_and_writes_nothing(tmp_path):
    apply(tmp_path, (EXAMPLES / "roles.yaml").read_text())
    apply(tmp_path, (EXAMPLES / "quickstart.yaml").read_text())
    before = export()

    plan = declarative.plan_text("upload.yaml", PLANNED)

    assert export() == before
    assert not Role.objects.filter(name="auditor").exists()
    roles = {i.key: i for i in plan.sections["roles"]}
    assert roles["auditor"].status == "created"
    assert roles["read-only"].status == "changed" and roles["read-only"].fields == ("permissions",)
    clients = plan.sections["clients"]
    assert [(i.key, i.status, i.fields) for i in clients[:2]] == [
        ("webapp", "changed", ("name",)),
        ("backend", "left", ()),
    ]
    assert len(clients) == 3 and clients[2].status == "created"
    assert "users" not in plan.sections
    assert (plan.count("created"), plan.count("changed"), plan.count("left")) == (2, 2, 1)
    assert "created role auditor" in plan.changes


def test_the_dry_run_of_a_bad_file_raises_the_apply_error_and_writes_nothing(tmp_path):
    with pytest.raises(declarative.ConfigError, match=r"upload.yaml: roles\[0\].*unknown role"):
        declarative.plan_text("upload.yaml", "roles: [{name: a, parents: [nope]}]")
    with pytest.raises(declarative.ConfigError, match="not valid YAML"):
        declarative.plan_text("upload.yaml", "roles: [")
    assert not Role.objects.exists()


def test_the_export_takes_the_same_queries_for_ten_times_the_entries(tmp_path):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            declarative.export_document()
        return len(captured)

    apply(tmp_path, (EXAMPLES / "roles.yaml").read_text())
    apply(tmp_path, (EXAMPLES / "quickstart.yaml").read_text())
    apply(tmp_path, EXTRA)
    few = queries()
    many = "\n".join(
        [
            "users:",
            *(f"  - {{username: u{n}, roles: [user, read-only]}}" for n in range(20)),
            "api_keys:",
            *(f"  - {{name: k{n}, user: u{n}, roles: [read-only]}}" for n in range(20)),
        ]
    )
    apply(tmp_path, many)
    assert queries() == few
    assert len(yaml.safe_load(export())["users"]) == 22


def test_every_shape_problem_is_reported_at_once():
    with pytest.raises(declarative.ConfigError) as caught:
        declarative.check_text("f.yaml", "users: [{username: a, colour: red}, {email: 3}]")
    assert caught.value.messages == [
        "f.yaml: users[0] (a): unknown field 'colour'",
        "f.yaml: users[1]: missing required field 'username'",
        "f.yaml: users[1].email: must be a non-empty string",
    ]
