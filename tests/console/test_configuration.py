"""The console's configuration file page: download the export, upload, dry run, confirm."""

from __future__ import annotations

import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile

from audit.models import AuditEvent
from console import access
from oauth.models import Client
from roles.models import Role
from tests.console.conftest import next_totp_code, sign_in, text

pytestmark = pytest.mark.django_db

PAGE = "/console/configuration/"
UPLOAD = "/console/configuration/import/"
CONFIRM = "/console/configuration/import/confirm/"

FILE = """
roles:
  - name: auditor
    permissions: [audit:read]
clients:
  - client_id: reports
    name: Reports
    type: confidential
    grant_types: [client_credentials]
    roles: [auditor]
"""


def upload(http, content: str | bytes, name: str = "site.yaml"):
    data = content.encode() if isinstance(content, str) else content
    return http.post(UPLOAD, {"file": SimpleUploadedFile(name, data)})


def test_the_page_says_secrets_are_left_out_and_the_download_is_the_export(console, make_client):
    make_client(client_id="svc", name="Service")
    page = console.get(PAGE)
    assert page.status_code == 200
    assert "Secrets are not included" in text(page)
    download = console.get("/console/configuration/export.yaml")
    assert download.status_code == 200
    assert download["Content-Type"].startswith("application/yaml")
    assert download["Content-Disposition"].startswith('attachment; filename="authserver-')
    body = download.content.decode()
    assert body.startswith("# authserver configuration") and "Secrets are not exported" in body
    document = yaml.safe_load(body)
    assert [c["client_id"] for c in document["clients"]] == ["svc"]
    assert "console-admin" in [r["name"] for r in document["roles"]]
    assert "client_secret" not in body.replace("client_secret_basic", "")


def test_export_needs_every_read_permission_and_import_every_write_one(
    client, make_user, grant_roles
):
    reader = make_user("reader")
    grant_roles(reader, access.CONSOLE_ACCESS, *access.CONFIG_EXPORT[:-1])
    sign_in(client, reader)
    refused = client.get("/console/configuration/export.yaml")
    assert refused.status_code == 403 and "tokens:read" in text(refused)
    grant_roles(reader, access.TOKENS_READ)
    assert client.get("/console/configuration/export.yaml").status_code == 200
    page = client.get(PAGE)
    assert page.status_code == 200 and UPLOAD not in text(page)  # no upload form
    response = upload(client, FILE)
    assert response.status_code == 403 and "users:write" in text(response)
    assert not Role.objects.filter(name="auditor").exists()


def test_an_upload_shows_the_dry_run_and_only_the_confirmation_applies_it(console, admin):
    empty = console.post(UPLOAD, {})
    assert empty.status_code == 400 and "This field is required." in text(empty)
    plan = upload(console, FILE + "users:\n  - username: root\n")
    page = text(plan)
    assert plan.status_code == 200
    assert "Apply site.yaml?" in page
    assert (
        "<strong>2</strong> to create, <strong>0</strong> to change and <strong>1</strong>" in page
    )
    assert '<tr class="plan-created"><td><code>auditor</code></td>' in page
    assert '<tr class="plan-left"><td><code>root</code></td>' in page
    assert not Role.objects.filter(name="auditor").exists()
    assert not Client.objects.filter(client_id="reports").exists()

    digest = plan.context["upload"]["digest"]
    done = console.post(CONFIRM, {"digest": digest})
    assert done.status_code == 200
    assert "created role auditor" in text(done) and "created client reports" in text(done)
    secret = done.context["secrets"][0]
    assert secret[:2] == ("clients", "reports") and len(secret[2]["client_secret"]) > 30
    assert Role.objects.filter(name="auditor").exists()
    # The file's own writes are audited as the admin's, not as ``apply``.
    assert AuditEvent.objects.get(event="role.created", target="auditor").actor == "root"
    event = AuditEvent.objects.get(event="config.imported")
    assert event.actor == "root" and event.target == "site.yaml"
    assert event.data["entries"] == {"roles": 1, "clients": 1, "users": 1}
    assert "client_secret" not in str(event.data)
    # The upload is used up: confirming again goes back to the page.
    assert console.post(CONFIRM, {"digest": digest})["Location"] == PAGE


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("roles: [", "site.yaml: not valid YAML"),
        ("roles: [{name: a, parents: [nope]}]", "site.yaml: roles[0] (a).parents: unknown role"),
        ("widgets: []", "unknown section &#x27;widgets&#x27;"),
        (b"\xff\xfe", "The file is not UTF-8 text."),
    ],
)
def test_a_bad_file_is_a_page_with_the_error_and_nothing_applied(console, content, message):
    response = upload(console, content)
    assert response.status_code == 400
    assert message in text(response)
    assert "nothing was changed" in text(response) or "UTF-8" in message
    assert not Role.objects.filter(name="a").exists()
    assert console.get(CONFIRM)["Location"] == PAGE  # nothing kept to confirm


def test_every_problem_of_a_bad_file_is_listed_at_once(console):
    response = upload(console, "roles: [{name: a, colour: red}, {permissions: 3}]")
    assert response.status_code == 400
    page = text(response)
    assert "<li>site.yaml: roles[0] (a): unknown field &#x27;colour&#x27;</li>" in page
    assert "<li>site.yaml: roles[1]: missing required field &#x27;name&#x27;</li>" in page
    assert "<li>site.yaml: roles[1].permissions: must be a list of strings</li>" in page


def test_a_file_granting_what_the_admin_does_not_hold_is_refused_before_the_plan(console):
    response = upload(console, "roles: [{name: god, permissions: ['* /**']}]")
    assert response.status_code == 400
    assert "carries permissions you do not hold yourself: * /**" in text(response)
    assert not Role.objects.filter(name="god").exists()


def test_cancelling_drops_the_upload(console):
    upload(console, FILE)
    assert console.get(CONFIRM).status_code == 200
    console.get(PAGE)
    assert console.get(CONFIRM)["Location"] == PAGE


def test_a_confirmation_for_another_upload_is_refused(console):
    upload(console, FILE)
    response = console.post(CONFIRM, {"digest": "0" * 64})
    assert response.status_code == 409 and "newer upload" in text(response)
    assert not Role.objects.filter(name="auditor").exists()


def test_a_stale_admin_confirms_after_reauthenticating(console, admin, stale):
    plan = upload(console, FILE)
    digest = plan.context["upload"]["digest"]
    response = console.post(CONFIRM, {"digest": digest})
    assert response.status_code == 302 and response["Location"].startswith("/console/reauth/")
    assert not Role.objects.filter(name="auditor").exists()
    back = console.post("/console/reauth/", {"code": next_totp_code(admin), "next": CONFIRM})
    assert back["Location"] == CONFIRM
    again = console.get(CONFIRM)
    assert again.status_code == 200 and "Apply site.yaml?" in text(again)
    assert console.post(CONFIRM, {"digest": digest}).status_code == 200
    assert Role.objects.filter(name="auditor").exists()
