"""Second factors in the console: resetting a user's MFA, locked accounts and unlocking, and the
fresh second factor that privilege changes ask for (SECURITY 49, 85, ASVS 7.5.1/7.5.3)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from apikeys.models import ApiKey
from audit.models import AuditEvent
from core.actors import APPLY
from mfa import selectors as mfa_selectors
from mfa import services as mfa_services
from mfa.models import Authenticator, Lockout
from oauth.models import Client as OAuthClient
from roles import services as role_services
from roles.models import Role, UserRole
from tests.conftest import PASSWORD, login
from tests.console.conftest import ALL_CONSOLE, enrol_totp, next_totp_code, sign_in, text


def events(name: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(event=name))


# --- MFA reset --------------------------------------------------------------------------------


def test_resetting_mfa_asks_first_then_removes_every_factor(console, make_user):
    user = make_user("fay")
    enrol_totp(user)
    mfa_services.recovery_codes_generate(user=user)
    mfa_services.authenticator_passkey_add(user=user, name="YubiKey", data={"credential_id": "x"})
    path = f"/console/users/{user.pk}/mfa-reset/"
    assert "Reset MFA" in text(console.get(f"/console/users/{user.pk}/"))
    confirm = text(console.get(path))
    assert "Reset the second factors of fay?" in confirm
    assert "Authenticator app" in confirm and "YubiKey" in confirm and "Recovery codes" in confirm
    assert Authenticator.objects.filter(user=user).count() == 3  # the GET changed nothing
    response = console.post(path, follow=True)
    assert "Second factors of fay removed." in text(response)
    assert not Authenticator.objects.filter(user=user).exists()
    [event] = events("mfa.reset")
    assert (event.actor, event.target) == ("root", "fay")
    assert event.data["factors"] == ["recovery_codes", "totp", "webauthn"]
    # Their next sign-in is with the password alone (MFA is not required of them).
    assert not login(Client(), "fay", PASSWORD)["Location"].startswith("/mfa/")


def test_nobody_resets_the_mfa_of_a_stronger_account(client, admin, make_user, grant_roles):
    enrol_totp(admin)
    helpdesk = make_user("hal")
    grant_roles(helpdesk, "console:access", "users:read", "users:write")
    sign_in(client, helpdesk)
    response = client.post(f"/console/users/{admin.pk}/mfa-reset/", follow=True)
    assert "carries permissions you do not hold yourself" in text(response)
    assert mfa_selectors.totp_of(admin) is not None
    assert not events("mfa.reset")


def test_an_admin_does_not_reset_their_own_factors_here(console, admin):
    response = console.post(f"/console/users/{admin.pk}/mfa-reset/", follow=True)
    assert "Manage your own second factors" in text(response)
    assert mfa_selectors.totp_of(admin) is not None


# --- locked accounts --------------------------------------------------------------------------


def test_a_second_factor_lockout_is_listed_and_can_be_lifted(console, make_user):
    user = make_user("lou")
    until = timezone.now() + timedelta(minutes=10)
    Lockout.objects.create(user=user, failures=0, locks=1, locked_until=until)
    dashboard = text(console.get("/console/"))
    assert "lou: second factor (wrong codes)" in dashboard
    page = text(console.get("/console/users/locked/"))
    assert "lou" in page and until.strftime("%Y-%m-%d %H:%M:%S") in page
    confirm = text(console.get(f"/console/users/{user.pk}/unlock/"))
    assert "Unlock lou?" in confirm and "second factor (wrong codes)" in confirm
    response = console.post(f"/console/users/{user.pk}/unlock/", follow=True)
    assert "lou unlocked." in text(response)
    assert mfa_services.lockout_remaining(user=user) == 0
    [event] = events("user.unlocked")
    assert (event.actor, event.target, event.data["locks"]) == ("root", "lou", ["mfa"])
    assert "No locked accounts." in text(console.get("/console/users/locked/"))


def test_a_password_throttle_block_is_listed_and_can_be_lifted(console, make_user, settings):
    user = make_user("Max")
    guesser = Client()
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT):
        login(guesser, "max", "wrong password!")
    page = text(console.get("/console/users/locked/"))
    assert "password (wrong passwords)" in page and ">Max<" in page
    console.post(f"/console/users/{user.pk}/unlock/")
    assert events("user.unlocked")[0].data["locks"] == ["login"]
    assert login(Client(), "Max").status_code == 302  # the right password works at once


def test_unlocking_an_account_that_is_not_locked_records_nothing(console, make_user):
    user = make_user("ned")
    response = console.post(f"/console/users/{user.pk}/unlock/", follow=True)
    assert "ned was not locked." in text(response)
    assert not events("user.unlocked")


# --- a fresh second factor before sensitive actions -------------------------------------------


@pytest.fixture
def deployer(admin, grant_roles):
    role = role_services.role_create(actor=APPLY, name="deployer", permissions=["deploy:run"])
    grant_roles(admin, "deploy:run")
    return role


def test_a_stale_admin_is_sent_to_reauthenticate_and_nothing_changes(
    console, admin, make_user, deployer, stale
):
    dana = make_user("dana")
    response = console.post(f"/console/users/{dana.pk}/roles/", {"roles": ["deployer"]})
    detail = f"/console/users/{dana.pk}/"
    assert response.status_code == 302
    assert response["Location"] == f"/console/reauth/?next={detail.replace('/', '%2F')}"
    assert not UserRole.objects.filter(user=dana).exists()
    assert not events("role.assigned")

    page = console.get(response["Location"])
    assert "Prove your second factor again" in text(page)
    wrong = console.post("/console/reauth/", {"code": "000000", "next": detail})
    assert wrong.status_code == 400 and "That code is not right" in text(wrong)
    done = console.post("/console/reauth/", {"code": next_totp_code(admin), "next": detail})
    assert done.status_code == 302 and done["Location"] == detail
    # Back on the form, the box the admin had ticked is ticked again; submitting now works.
    form = text(console.get(detail))
    assert 'value="deployer" id="id_roles_1" checked' in form
    console.post(f"/console/users/{dana.pk}/roles/", {"roles": ["deployer"]})
    assert UserRole.objects.filter(user=dana, role=deployer).exists()
    assert events("role.assigned")
    assert AuditEvent.objects.filter(event="mfa.verify", outcome="failure").count() == 1


@pytest.mark.parametrize("action", ["password", "mfa-reset", "rotate", "api-key"])
def test_every_sensitive_action_refuses_a_stale_post(
    console, make_user, make_client, deployer, stale, action
):
    user = make_user("eve")
    enrol_totp(user)
    client, secret = make_client(client_id="svc")
    path, data = {
        "password": (
            f"/console/users/{user.pk}/password/",
            {"password": "x" * 20, "confirm": "x" * 20},
        ),
        "mfa-reset": (f"/console/users/{user.pk}/mfa-reset/", {}),
        "rotate": (f"/console/clients/{client.pk}/rotate-secret/", {}),
        "api-key": ("/console/api-keys/new/", {"owner_type": "user", "owner": "eve", "name": "k"}),
    }[action]
    before = AuditEvent.objects.count()
    response = console.post(path, data)
    assert response.status_code == 302 and response["Location"].startswith("/console/reauth/")
    assert AuditEvent.objects.count() == before
    user.refresh_from_db()
    client.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert mfa_selectors.totp_of(user) is not None
    assert not ApiKey.objects.exists()
    # Asked before the form is filled in, too; and a GET changes nothing either way.
    assert console.get(path)["Location"].startswith("/console/reauth/")


def test_the_draft_never_keeps_passwords(console, make_user, stale):
    user = make_user("gus")
    path = f"/console/users/{user.pk}/password/"
    console.post(path, {"password": "a secret passphrase", "confirm": "a secret passphrase"})
    assert "a secret passphrase" not in str(dict(console.session))


def test_reauthentication_returns_only_to_console_pages(console, admin, stale):
    code = next_totp_code(admin)
    response = console.post("/console/reauth/", {"code": code, "next": "https://evil.example/"})
    assert response["Location"] == "/console/"


# --- the service that changes privileges asks, whichever page calls it (SECURITY 85) -----------


@pytest.fixture
def superadmin(admin):
    """``superadmin`` (what the admin holds: the hierarchy guard lets them hand it out) and
    ``ops``, a role with no parents."""
    role_services.role_create(actor=APPLY, name="superadmin", permissions=ALL_CONSOLE)
    return role_services.role_create(actor=APPLY, name="ops", permissions=["users:read"])


def checked(page: str, value: str) -> bool:
    return re.search(rf'value="{re.escape(value)}"[^>]* checked', page) is not None


def test_a_stale_role_edit_adding_superadmin_asks_and_brings_back_what_was_typed(
    console, admin, superadmin, stale
):
    ops = superadmin
    path = f"/console/roles/{ops.pk}/edit/"
    data = {"description": "On call", "parents": ["superadmin"], "permissions": "users:read"}
    response = console.post(path, data)
    assert response.status_code == 302
    assert response["Location"] == f"/console/reauth/?next={path.replace('/', '%2F')}"
    ops.refresh_from_db()
    assert not ops.parents.exists() and ops.description == ""
    assert not events("role.updated")

    console.post("/console/reauth/", {"code": next_totp_code(admin), "next": path})
    form = text(console.get(path))
    assert checked(form, "superadmin") and "On call" in form
    assert console.post(path, data).status_code == 302
    assert list(ops.parents.values_list("name", flat=True)) == ["superadmin"]
    assert events("role.updated")


def test_a_stale_admin_may_still_edit_what_grants_nothing(console, superadmin, stale):
    ops = superadmin
    data = {"description": "On call", "permissions": "users:read"}
    response = console.post(f"/console/roles/{ops.pk}/edit/", data)
    assert response["Location"] == f"/console/roles/{ops.pk}/"
    ops.refresh_from_db()
    assert ops.description == "On call"


@pytest.mark.parametrize(
    "action", ["role-create", "role-delete", "client-create", "redirect-uris", "re-enable"]
)
def test_every_privilege_change_refuses_a_stale_post(
    console, make_user, make_client, superadmin, stale, action
):
    ops = superadmin
    shop, _ = make_client(
        client_id="shop",
        name="Shop",
        grant_types=["authorization_code"],
        redirect_uris=["https://shop.example/cb"],
    )
    user = make_user("ivy", is_active=False)
    path, data = {
        "role-create": ("/console/roles/new/", {"name": "new-role", "parents": ["superadmin"]}),
        "role-delete": (f"/console/roles/{ops.pk}/delete/", {}),
        "client-create": (
            "/console/clients/new/",
            {"name": "Evil", "type": "confidential", "grant_types": ["client_credentials"]},
        ),
        "redirect-uris": (
            f"/console/clients/{shop.pk}/edit/",
            {
                "name": "Shop",
                "grant_types": ["authorization_code"],
                "redirect_uris": "https://evil.example/cb",
            },
        ),
        "re-enable": (f"/console/users/{user.pk}/active/", {}),
    }[action]
    before = AuditEvent.objects.count()
    response = console.post(path, data)
    assert response.status_code == 302 and response["Location"].startswith("/console/reauth/")
    assert AuditEvent.objects.count() == before
    assert sorted(Role.objects.values_list("name", flat=True)) == [
        "console-admin",
        "ops",
        "superadmin",
    ]
    shop.refresh_from_db()
    user.refresh_from_db()
    assert shop.redirect_uris == "https://shop.example/cb"
    assert not user.is_active
    assert not OAuthClient.objects.filter(name="Evil").exists()
