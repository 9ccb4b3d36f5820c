"""``identity_providers:`` in ``manage.py apply``: idempotent, the dry-run plan, the export
without the secret."""

from __future__ import annotations

import pytest

from core import declarative
from core.declarative import ConfigError
from federation.models import IdentityProvider

FILE = """
roles:
  - name: admin
    permissions: [platform:admin]
identity_providers:
  - slug: corp
    name: Corp SSO
    kind: oidc
    issuer: https://login.corp.example/
    client_id: authserver
    client_secret: "upstream-secret"
    scopes: [openid, email, profile]
    link_by: verified_email
    provision: true
    trust_mfa: false
    role_mapping:
      - claim: groups
        value: platform-admins
        roles: [admin]
"""


def test_apply_is_idempotent_and_the_export_leaves_the_secret_out(db):
    result = declarative.apply_text("corp.yaml", FILE)
    assert "created identity provider corp" in result.changes
    provider = IdentityProvider.objects.get(slug="corp")
    assert provider.issuer == "https://login.corp.example"
    assert provider.client_secret == "upstream-secret"
    again = declarative.apply_text("corp.yaml", FILE)
    assert not [c for c in again.changes if "identity provider" in c]
    exported = declarative.export_text()
    assert "upstream-secret" not in exported
    entry = declarative.export_document()["identity_providers"][0]
    assert entry["role_mapping"] == [
        {"claim": "groups", "value": "platform-admins", "roles": ["admin"]}
    ]
    # the export applies again without changing anything (the secret stays as it is)
    assert not [
        c
        for c in declarative.apply_text("export.yaml", exported).changes
        if "identity provider" in c
    ]
    assert IdentityProvider.objects.get(slug="corp").client_secret == "upstream-secret"


def test_the_dry_run_plans_without_writing(db):
    plan = declarative.plan_text("corp.yaml", FILE)
    assert [i.status for i in plan.sections["identity_providers"]] == ["created"]
    assert not IdentityProvider.objects.exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("kind: oidc", "kind: saml"),
        ("roles: [admin]", "roles: [nobody]"),
    ],
)
def test_mistakes_abort_the_file(db, change, message):
    with pytest.raises(ConfigError):
        declarative.apply_text("corp.yaml", FILE.replace(change, message))
    assert not IdentityProvider.objects.exists()
