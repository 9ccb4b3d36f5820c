"""The console's directory pages: list, add (every field's problem on the form), the
connection test and a sync against the real slapd, the password never shown, reading and
writing behind users and roles permissions."""

from __future__ import annotations

import re

import pytest

from audit.models import AuditEvent
from core import crypto
from directory.models import Directory
from tests.console.conftest import csrf_token, sign_in, text
from tests.directory import slapd

pytestmark = pytest.mark.live


def form_data(server: slapd.Slapd, **overrides: str) -> dict[str, str]:
    data = {
        "slug": "corp",
        "name": "Corp LDAP",
        "enabled": "on",
        "urls": server.url,
        "start_tls": "on",
        "ca_file": server.ca_file,
        "bind_mode": "search",
        "bind_dn": slapd.READER_DN,
        "bind_password": slapd.READER_PASSWORD,
        "user_base": slapd.PEOPLE,
        "user_filter": "(&(objectClass=inetOrgPerson)(uid={username}))",
        "username_attribute": "uid",
        "email_attribute": "mail",
        "name_attribute": "cn",
        "uuid_attribute": "entryUUID",
        "group_base": slapd.GROUPS,
        "group_filter": "(objectClass=groupOfNames)",
        "group_member_attribute": "member",
        "group_name_attribute": "cn",
        "role_mapping": "",
        "provision": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def post(console, path: str, data: dict[str, str]):
    data["csrfmiddlewaretoken"] = csrf_token(console.get("/console/directories/"))
    return console.post(path, data)


def test_an_admin_adds_a_directory_tests_it_and_never_sees_its_password(console, slapd_server):
    response = post(console, "/console/directories/new/", form_data(slapd_server))
    assert response.status_code == 302, text(response)
    directory = Directory.objects.get(slug="corp")
    assert crypto.decrypt(directory.bind_password_encrypted) == slapd.READER_PASSWORD.encode()
    assert AuditEvent.objects.get(event="directory.created").actor == "root"

    page = console.get(response["Location"])
    assert page.status_code == 200 and "Corp LDAP" in text(page)
    edit = console.get(f"/console/directories/{directory.pk}/edit/")
    assert slapd.READER_PASSWORD not in text(edit)

    tested = console.post(
        f"/console/directories/{directory.pk}/test/",
        {"csrfmiddlewaretoken": csrf_token(page)},
        follow=True,
    )
    assert "the user filter finds" in text(tested)


def test_a_form_without_a_password_keeps_the_stored_one(console, slapd_server):
    post(console, "/console/directories/new/", form_data(slapd_server))
    directory = Directory.objects.get(slug="corp")
    response = post(
        console,
        f"/console/directories/{directory.pk}/edit/",
        form_data(slapd_server, bind_password="", name="Renamed", slug=None),
    )
    assert response.status_code == 302, text(response)
    directory.refresh_from_db()
    assert directory.name == "Renamed"
    assert crypto.decrypt(directory.bind_password_encrypted) == slapd.READER_PASSWORD.encode()


def test_every_problem_is_shown_on_the_form_and_nothing_is_saved(console, slapd_server):
    response = post(
        console,
        "/console/directories/new/",
        form_data(
            slapd_server,
            urls="ldap://ldap.example.org",
            start_tls=None,
            user_filter="(uid=nobody)",
            role_mapping="admins = no-such-role",
        ),
    )
    assert response.status_code == 400
    body = text(response)
    assert "would send passwords in clear" in body
    assert "must contain {username}" in body
    assert "unknown role(s): no-such-role" in body
    assert not Directory.objects.exists()


def test_sync_now_from_the_console(console, slapd_server, client):
    post(console, "/console/directories/new/", form_data(slapd_server))
    directory = Directory.objects.get(slug="corp")
    page = console.get(f"/console/directories/{directory.pk}/")
    done = console.post(
        f"/console/directories/{directory.pk}/sync/",
        {"csrfmiddlewaretoken": csrf_token(page)},
        follow=True,
    )
    assert re.search(r"corp: 0 checked, 0 disabled", text(done))


def test_reading_needs_users_and_roles_read(client, make_user, grant_roles, slapd_server):
    from console.access import CONSOLE_ACCESS

    user = make_user("viewer")
    grant_roles(user, CONSOLE_ACCESS, "users:read")
    sign_in(client, user)
    assert client.get("/console/directories/").status_code == 403
    grant_roles(user, "roles:read")
    assert client.get("/console/directories/").status_code == 200
    assert client.get("/console/directories/new/").status_code == 403


def test_adding_a_directory_needs_a_fresh_second_factor(console, slapd_server, stale):
    response = post(console, "/console/directories/new/", form_data(slapd_server))
    assert response.status_code == 302 and response["Location"].startswith("/console/reauth/")
    assert not Directory.objects.exists()


def test_nobody_maps_groups_to_roles_beyond_their_own_permissions(
    client, make_user, grant_roles, slapd_server
):
    from console.access import CONSOLE_ACCESS
    from core.actors import APPLY
    from roles import services as role_services

    role_services.role_create(actor=APPLY, name="infra", permissions=["infra:admin"])
    user = make_user("helpdesk")
    grant_roles(user, CONSOLE_ACCESS, "users:read", "users:write", "roles:read", "roles:write")
    sign_in(client, user)
    response = post(
        client, "/console/directories/new/", form_data(slapd_server, role_mapping="ops = infra")
    )
    assert response.status_code == 400
    assert "infra:admin" in text(response)
    assert not Directory.objects.exists()
