"""A worker killed in the middle of a request's transaction leaves no partial state.

gunicorn serves the production application through ``tests/ops/killswitch.py``, a test-only
WSGI entry: a request the test has armed SIGKILLs its own worker inside the transaction, either
right after its first write or after all of them, just before COMMIT. The client gets no answer;
the database must then hold none of the request's writes, and the worker the master starts in
its place must serve the same request correctly (a retried refresh must not be taken for a
replayed one, which would end the user's session family).

Runs on a file SQLite database, or on PostgreSQL when ``DATABASE_URL`` is set (a throwaway
``test_<name>_killed`` database next to pytest-django's).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import PASSWORD
from tests.ops import live
from tests.ops.conftest import CLIENT_SPECS
from tests.ops.servers import ROOT, AppServer, migrate, python_in, scratch_database

pytestmark = pytest.mark.live

MODES = ("after-first-write", "before-commit")
ADMIN = {"client_id": "admin", "name": "Admin", "type": "confidential", "scopes": ["management"]}

SEED = """
import json
from accounts import services as accounts
from core.actors import APPLY
from roles import services as roles
from roles.access import MANAGEMENT_PERMISSIONS
from roles.services import AssignmentSpec
from tests.ops.seeding import client_create
accounts.user_create(actor=APPLY, username="alice", password={password!r},
                     email="alice@example.com")
made = {{}}
for spec in {specs!r}:
    client, secret = client_create({{"grant_types": ["client_credentials"], **spec}})
    made[client.client_id] = secret
roles.role_create(actor=APPLY, name="operator", permissions=[*MANAGEMENT_PERMISSIONS, "orders:read",
                  "orders:write", "* /**"])
roles.client_roles_set(client=client, assignments=[AssignmentSpec("operator")])
client.resources = ["management"]  # admin (the last one) may use the management API
client.save()
roles.role_create(actor=APPLY, name="staff", permissions=["orders:read"])
for mode in {modes!r}:
    roles.role_create(actor=APPLY, name="clerk-" + mode, description="before",
                      permissions=["orders:read"])
print(json.dumps(made))
"""

FAMILY = """
import json
from audit.models import AuditEvent
from core.crypto import sha256_hex
from oauth2_provider.models import get_refresh_token_model
model = get_refresh_token_model()
presented = model.objects.get(token_checksum=sha256_hex({token!r}))
family = model.objects.filter(token_family=presented.token_family)
print(json.dumps({{
    "presented_revoked": presented.revoked is not None,
    "family": family.count(),
    "live_in_family": family.filter(revoked__isnull=True).count(),
    "audit_events": AuditEvent.objects.count(),
}}))
"""

ROLE = """
import json
from audit.models import AuditEvent
from roles.models import Role
role = Role.objects.get(name={name!r})
print(json.dumps({{
    "description": role.description,
    "permissions": sorted(role.permissions.values_list("value", flat=True)),
    "parents": sorted(role.parents.values_list("name", flat=True)),
    "updated_events": AuditEvent.objects.filter(event="role.updated", target={name!r}).count(),
}}))
"""


@pytest.fixture(scope="module")
def database(tmp_path_factory) -> Iterator[dict[str, str]]:
    """Environment naming the database the server and the checks share."""
    with scratch_database(tmp_path_factory.mktemp("sqlite"), "killed") as database:
        yield database


@pytest.fixture(scope="module")
def stack(database, tmp_path_factory) -> Iterator[dict]:
    """A migrated, seeded database and one gunicorn (one worker) behind the kill switch."""
    workdir = tmp_path_factory.mktemp("killed")
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "SQLITE_PATH", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(
        database,
        SECRET_KEY="test-only-secret-key-" + "x" * 40,
        AUTHSERVER_VAR_DIR=str(workdir),
        PYTHONPATH=str(ROOT),
        KILLSWITCH_ARM=str(workdir / "arm.json"),
        KILLSWITCH_REPORT=str(workdir / "report.json"),
        # Audit rows in the request's own transaction (not batched after it), so the
        # snapshots below count them and the killed transaction's own events must vanish too.
        AUDIT_BATCH_EVENTS="1",
    )
    migrate(env)
    secrets = python_in(
        env, SEED.format(password=PASSWORD, specs=[*CLIENT_SPECS, ADMIN], modes=MODES)
    )
    server = AppServer(env, workdir, app="tests.ops.killswitch:application")
    server.start()
    try:
        yield {"env": env, "secrets": secrets, "server": server, "workdir": workdir}
    finally:
        server.stop()


def _arm(stack: dict, path: str, mode: str) -> Path:
    report = stack["workdir"] / "report.json"
    report.unlink(missing_ok=True)
    (stack["workdir"] / "arm.json").write_text(json.dumps({"path": path, "mode": mode}))
    return report


def _fired(report: Path, mode: str) -> dict:
    """The kill switch's account: it fired inside an open transaction, after writing."""
    seen = json.loads(report.read_text())
    assert seen["fired"] is True, seen
    assert seen["mode"] == mode and seen["in_transaction"] is True
    assert len(seen["writes"]) == 1 if mode == "after-first-write" else len(seen["writes"]) >= 3
    return seen


@pytest.mark.parametrize("mode", MODES)
def test_refresh_rotation_killed_mid_transaction_leaves_the_token_usable(stack, mode):
    base, secrets = stack["server"].base, stack["secrets"]
    web, rs = ("webapp", secrets["webapp"]), ("rs1", secrets["rs1"])
    browser = requests.Session()
    assert live.login(base, browser=browser).status_code == 302
    code, verifier = live.authorize(base, browser)
    issued = live.exchange(base, code, verifier, web).json()
    before = python_in(stack["env"], FAMILY.format(token=issued["refresh_token"]))
    assert before["family"] == before["live_in_family"] == 1

    report = _arm(stack, "/o/token/", mode)
    with pytest.raises(requests.ConnectionError):
        live.refresh(base, issued["refresh_token"], web)

    seen = _fired(report, mode)
    if mode == "before-commit":  # the rotation's writes: new access + refresh token, old revoked
        tables = " ".join(seen["writes"])
        assert "INSERT oauth2_provider_accesstoken" in tables
        assert "INSERT oauth2_provider_refreshtoken" in tables
        assert "UPDATE oauth2_provider_refreshtoken" in tables
    assert python_in(stack["env"], FAMILY.format(token=issued["refresh_token"])) == before
    assert live.introspect(base, issued["access_token"], *rs).json()["active"] is True

    # The master's new worker serves the same refresh as if the first had never been sent.
    retried = live.refresh(base, issued["refresh_token"], web)
    assert retried.status_code == 200, retried.text
    after = python_in(stack["env"], FAMILY.format(token=issued["refresh_token"]))
    assert after["presented_revoked"] is True
    assert (after["family"], after["live_in_family"]) == (2, 1)
    new = retried.json()
    assert live.introspect(base, new["access_token"], *rs).json()["active"] is True
    assert live.refresh(base, new["refresh_token"], web).status_code == 200
    log = stack["server"].log()
    assert f"pid:{seen['pid']}" in log and "SIGKILL" in log


@pytest.mark.parametrize("mode", MODES)
def test_role_change_killed_mid_transaction_changes_nothing(stack, mode):
    base, secrets = stack["server"].base, stack["secrets"]
    token = live.client_credentials(
        base, "admin", secrets["admin"], scope="management", resource=f"{base}/api/v1/"
    ).json()["access_token"]
    name = f"clerk-{mode}"
    before = python_in(stack["env"], ROLE.format(name=name))
    assert before == {
        "description": "before",
        "permissions": ["orders:read"],
        "parents": [],
        "updated_events": 0,
    }
    change = {
        "description": "after",
        "parents": ["staff"],
        "permissions": ["orders:read", "orders:write"],
    }

    def patch() -> requests.Response:
        return requests.patch(
            f"{base}/api/v1/roles/{name}/",
            json=change,
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )

    report = _arm(stack, f"/api/v1/roles/{name}/", mode)
    with pytest.raises(requests.ConnectionError):
        patch()

    seen = _fired(report, mode)
    if mode == "before-commit":  # role row, its permissions and parents, the audit event
        tables = " ".join(seen["writes"])
        for table in ("roles_role", "roles_permission", "roles_role_parents", "audit_auditevent"):
            assert table in tables
    assert python_in(stack["env"], ROLE.format(name=name)) == before
    shown = requests.get(
        f"{base}/api/v1/roles/{name}/", headers={"Authorization": f"Bearer {token}"}, timeout=30
    ).json()
    assert (shown["description"], shown["parents"]) == ("before", [])

    retried = patch()
    assert retried.status_code == 200, retried.text
    assert python_in(stack["env"], ROLE.format(name=name)) == {**change, "updated_events": 1}
