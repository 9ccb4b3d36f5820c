"""``manage.py apply``: declarative, idempotent, all-or-nothing configuration."""

import json

import pytest
from django.core.management import CommandError, call_command

from accounts.models import User
from oauth.models import Client
from tests.configfiles import apply

pytestmark = pytest.mark.django_db

GOOD = """
clients:
  - client_id: webapp
    name: Web App
    type: confidential
    grant_types: [authorization_code, refresh_token]
    redirect_uris: [https://app.example.com/callback]
    scopes: [openid, profile, email, offline_access]
    skip_consent: true
    access_token_lifetime: 300
    token_endpoint_auth_method: client_secret_basic
  - client_id: cli
    type: public
    grant_types: [authorization_code, device_code]
    redirect_uris: ["http://127.0.0.1/callback"]
    scopes: [openid]
users:
  - username: alice
    email: alice@example.com
    password: "a long passphrase"
    name: Alice Example
"""


def test_apply_creates_everything_and_shows_secrets_once(tmp_path):
    out, _ = apply(tmp_path, GOOD, "--json")
    result = json.loads(out)
    assert set(result["clients"]) == {"webapp", "cli"}
    assert len(result["clients"]["webapp"]["client_secret"]) >= 43
    assert "client_secret" not in result["clients"]["cli"]
    assert result["users"]["alice"]["id"] == str(User.objects.get(username="alice").pk)
    webapp = Client.objects.get(client_id="webapp")
    assert webapp.grant_types == ["authorization_code", "refresh_token"]
    assert webapp.access_token_lifetime == 300 and webapp.skip_authorization
    assert result["clients"]["webapp"]["client_secret"] not in webapp.client_secret
    cli = Client.objects.get(client_id="cli")
    assert "urn:ietf:params:oauth:grant-type:device_code" in cli.grant_types
    assert cli.token_endpoint_auth_method == "none"
    alice = User.objects.get(username="alice")
    assert alice.check_password("a long passphrase") and alice.password.startswith(
        "argon2$argon2id$"
    )
    assert alice.name == "Alice Example"


def test_applying_twice_changes_nothing_and_shows_no_secret(tmp_path):
    apply(tmp_path, GOOD)
    before = Client.objects.get(client_id="webapp")
    out, _ = apply(tmp_path, GOOD, "--json")
    assert json.loads(out) == {}
    after = Client.objects.get(client_id="webapp")
    assert after.client_secret == before.client_secret and after.updated == before.updated
    human, _ = apply(tmp_path, GOOD)
    assert human.strip() == "nothing to change"


def test_named_fields_change_unnamed_fields_stay_and_lists_replace(tmp_path):
    apply(tmp_path, GOOD)
    apply(
        tmp_path,
        """
clients:
  - client_id: webapp
    redirect_uris: [https://new.example.com/cb]
""",
    )
    webapp = Client.objects.get(client_id="webapp")
    assert webapp.redirect_uris == "https://new.example.com/cb"
    assert webapp.name == "Web App" and webapp.access_token_lifetime == 300


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("clients: [{client_id: x, colour: red}]", "clients[0] (x): unknown field 'colour'"),
        ("roles_typo: []", "unknown section 'roles_typo'"),
        (
            "clients: [{client_id: x, grant_types: [password]}]",
            "clients[0] (x).grant_types: unsupported grant type 'password'",
        ),
        ("clients: [{client_id: x, grant_types: [implicit]}]", "unsupported grant type 'implicit'"),
        ("clients: [{client_id: x, type: secret}]", "clients[0] (x).type: must be one of"),
        (
            "clients: [{client_id: x, access_token_lifetime: -5}]",
            "access_token_lifetime: must be a positive",
        ),
        ("clients: [{client_id: x, skip_consent: 'yes'}]", "skip_consent: must be true or false"),
        (
            "clients: [{client_id: x, grant_types: [authorization_code], redirect_uris: ['http://app.example.com/cb']}]",
            "redirect_uris",
        ),
        (
            "clients: [{client_id: x, grant_types: [authorization_code], redirect_uris: ['https://*.example.com/cb']}]",
            "wildcards",
        ),
        (
            "clients: [{client_id: x, grant_types: [authorization_code]}]",
            "needs at least one redirect URI",
        ),
        ("users: [{email: a@example.com}]", "users[0]: missing required field 'username'"),
        ("users: [{username: bob, password: short}]", "users[0] (bob): password:"),
        ("users: [{username: bob, password: password123456}]", "too common"),
        ("users: [{username: bob}, {username: bob}]", "'bob' appears twice"),
        ("clients: {client_id: x}", "clients must be a list"),
        ("- just a list", "top level must be a mapping"),
        ("clients: [unclosed", "not valid YAML"),
    ],
)
def test_invalid_files_are_rejected_naming_the_place_and_writing_nothing(tmp_path, text, message):
    full = (
        "users: [{username: carol, password: 'a long passphrase'}]\n" + text
        if text.startswith("clients")
        else text
    )
    with pytest.raises(CommandError) as excinfo:
        apply(tmp_path, full)
    assert message in str(excinfo.value)
    assert str(tmp_path / "config.yaml") in str(excinfo.value)
    assert not User.objects.exists() and not Client.objects.exists()


def test_a_late_error_rolls_back_earlier_entries(tmp_path):
    text = GOOD + "  - username: bob\n    password: short\n"
    with pytest.raises(CommandError, match=r"users\[1\] \(bob\): password"):
        apply(tmp_path, text)
    assert not Client.objects.exists() and not User.objects.exists()


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="cannot read"):
        call_command("apply", str(tmp_path / "nope.yaml"))


def test_loopback_http_redirect_is_allowed_for_native_apps(tmp_path):
    apply(
        tmp_path,
        """
clients:
  - client_id: native
    type: public
    grant_types: [authorization_code]
    redirect_uris: ["http://127.0.0.1/cb", "http://[::1]:8080/cb"]
""",
    )
    assert Client.objects.filter(client_id="native").exists()
