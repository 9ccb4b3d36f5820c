"""The ``branding:`` section of ``manage.py apply``."""

from __future__ import annotations

import pytest
from django.core.management.base import CommandError

from audit.models import AuditEvent
from branding.models import Brand
from tests.configfiles import apply

pytestmark = pytest.mark.django_db

ACME = """
branding:
  - name: Acme ID
    primary_color: "#0A7D55"
    logo_url: /static/brand/acme.svg
    support_url: mailto:help@acme.example
"""


def test_apply_stores_the_brand_and_the_pages_show_it(tmp_path, client):
    out, _ = apply(tmp_path, ACME)
    assert "updated branding" in out
    brand = Brand.objects.get()
    assert (brand.name, brand.primary_color, brand.logo_url, brand.support_url) == (
        "Acme ID",
        "#0a7d55",
        "/static/brand/acme.svg",
        "mailto:help@acme.example",
    )
    event = AuditEvent.objects.get(event="branding.update")
    assert event.actor == "apply" and event.data["name"] == "Acme ID"
    assert "<h1>Sign in to Acme ID</h1>" in client.get("/accounts/login/").content.decode()


def test_applying_the_same_file_again_changes_nothing(tmp_path):
    apply(tmp_path, ACME)
    out, _ = apply(tmp_path, ACME)
    assert "updated branding" not in out
    assert AuditEvent.objects.filter(event="branding.update").count() == 1


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('primary_color: "red; }"', "branding[0].primary_color: must be a hex colour"),
        ("logo_url: https://cdn.example/logo.png", "branding[0].logo_url: must be a path"),
        ("support_url: javascript:alert(1)", "branding[0].support_url: must be an https:// URL"),
        ("name: 42", "branding[0].name: must be a string"),
        ("colour: '#fff'", "branding[0]: unknown field 'colour'"),
    ],
)
def test_a_bad_value_is_refused_naming_the_field_and_nothing_is_written(tmp_path, entry, message):
    with pytest.raises(CommandError) as refused:
        apply(tmp_path, f"branding:\n  - {entry}\n")
    assert message in str(refused.value)
    assert not Brand.objects.exists()


def test_one_brand_only(tmp_path):
    with pytest.raises(CommandError, match="branding must have one entry"):
        apply(tmp_path, "branding:\n  - name: A\n  - primary_color: '#fff'\n")
    assert not Brand.objects.exists()


def test_the_change_and_its_audit_event_roll_back_together(monkeypatch):
    from branding import services
    from core.actors import APPLY
    from tests.atomic import AfterAudit, events, fail_after_audit

    fail_after_audit(monkeypatch, services)
    with pytest.raises(AfterAudit):
        services.brand_update(actor=APPLY, name="Acme ID")
    assert not Brand.objects.exists() and events("branding.update") == []
