"""A Python client generated from the served OpenAPI document (openapi-python-client) works
against a live server: create a client, a role, assign it, read the audit log, and read a
problem as a typed ``Problem``."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

import pytest
import requests

from core.actors import APPLY
from oauth.apis import MANAGEMENT_SCOPE, management_audience
from roles import services as role_services
from roles.services import AssignmentSpec
from tests.api.conftest import ADMIN_PERMISSIONS, allow_management

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]

PACKAGE = "authserver_mgmt_client"


@pytest.fixture
def issuer(live_server, settings) -> str:
    settings.ISSUER_URL = live_server.url
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_ISS_ENDPOINT": live_server.url}
    return live_server.url


def generate(issuer: str, into: Path) -> ModuleType:
    """Generate the client package from the live server's schema and import it."""
    schema = requests.get(
        f"{issuer}/api/v1/schema/",
        headers={"Accept": "application/vnd.oai.openapi+json"},
        timeout=10,
    )
    assert schema.status_code == 200
    (into / "openapi.json").write_bytes(schema.content)
    bin_dir = Path(sys.executable).parent  # ruff, which the generator runs on its output
    result = subprocess.run(  # noqa: S603 (our own venv's tool, fixed arguments)
        [
            str(bin_dir / "openapi-python-client"),
            "generate",
            "--path",
            str(into / "openapi.json"),
            "--meta",
            "none",
            "--output-path",
            str(into / PACKAGE),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"},
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout, result.stdout  # every operation and model generated
    sys.path.insert(0, str(into))
    try:
        return importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(into))


@pytest.fixture
def api(issuer, tmp_path, make_client):
    """The generated package and an authenticated client of it for ``ops``, a client holding
    every permission the tests use."""
    role_services.role_create(actor=APPLY, name="ops-role", permissions=ADMIN_PERMISSIONS)
    app, secret = make_client(client_id="ops", name="Ops")
    allow_management(app)
    role_services.client_roles_set(client=app, assignments=[AssignmentSpec("ops-role")])
    token = requests.post(
        f"{issuer}/o/token/",
        data={
            "grant_type": "client_credentials",
            "scope": MANAGEMENT_SCOPE,
            "resource": management_audience(),
        },
        auth=("ops", secret),
        timeout=10,
    )
    assert token.status_code == 200, token.text
    package = generate(issuer, tmp_path)
    yield package, package.AuthenticatedClient(base_url=issuer, token=token.json()["access_token"])
    for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
        del sys.modules[name]


def module(package: ModuleType, name: str) -> ModuleType:
    return importlib.import_module(f"{package.__name__}.{name}")


def test_generated_client_creates_a_client_a_role_assigns_it_reads_the_audit_log(api):
    """One test: a transactional test flushes the database, the built-in API with it."""
    package, http = api
    models = module(package, "models")
    clients_create = module(package, "api.clients.clients_create")
    roles_create = module(package, "api.roles.roles_create")
    clients_roles_update = module(package, "api.clients.clients_roles_update")
    audit_events_list = module(package, "api.audit_events.audit_events_list")

    created = clients_create.sync(
        client=http,
        body=models.ClientsApiCreateInputRequest(
            client_id="reports",
            name="Reports",
            grant_types=[models.GrantTypesEnum.CLIENT_CREDENTIALS],
        ),
    )
    assert isinstance(created, models.ClientWithSecretOutput), created
    assert created.client_id == "reports" and created.client_secret and created.has_secret

    role = roles_create.sync(
        client=http,
        body=models.RolesApiCreateInputRequest(name="report-reader", permissions=["audit:read"]),
    )
    assert isinstance(role, models.RoleOutput), role
    assert role.name == "report-reader" and role.own_permissions == ["audit:read"]

    expires = datetime.now(UTC) + timedelta(days=30)
    assigned = clients_roles_update.sync(
        "reports",
        "report-reader",
        client=http,
        body=models.AssignmentInputRequest(expires_at=expires),
    )
    assert isinstance(assigned, models.AssignmentOutput), assigned
    assert assigned.role == "report-reader"
    assert abs((assigned.expires_at - expires).total_seconds()) < 1

    # The audit log by the actor as shown: "ops" finds the events of "client:ops" too.
    page = audit_events_list.sync(client=http, actor="ops")
    assert isinstance(page, models.PaginatedAuditEventOutputList), page
    events = {(e.event, e.target) for e in page.results}
    assert {("client.created", "reports"), ("role.created", "report-reader")} <= events
    assert ("role.assigned", "client:reports") in events
    # the token endpoint names a client by its bare id, the management API as client:<id>
    assert {e.actor for e in page.results} == {"client:ops", "ops"}

    # Problems come back as typed ``Problem`` models.
    clients_retrieve = module(package, "api.clients.clients_retrieve")
    users_create = module(package, "api.users.users_create")

    missing = clients_retrieve.sync("nope", client=http)
    assert isinstance(missing, models.Problem), missing
    assert missing.status == 404 and missing.detail == "Client 'nope' not found."

    invalid = users_create.sync(
        client=http, body=models.UsersApiCreateInputRequest(username="", email="x")
    )
    assert isinstance(invalid, models.Problem), invalid
    assert invalid.type_ == "https://authserver.dev/problems/validation-error"
    assert {e.field for e in invalid.errors} == {"username", "email"}
