"""Groups in the console: list and search, create, edit (a cycle refused), members, delete with
its confirmation, the guard, and where each of a user's roles comes from."""

from __future__ import annotations

from accounts.models import User
from audit.models import AuditEvent
from core.actors import APPLY
from roles import group_services, selectors
from roles import services as role_services
from roles.models import Group
from roles.services import AssignmentSpec
from tests.console.conftest import sign_in, text


def test_create_a_nested_group_add_a_member_and_see_where_roles_come_from(console, make_user):
    role_services.role_create(actor=APPLY, name="viewer", permissions=["users:read"])
    role_services.role_create(
        actor=APPLY, name="editor", parents=["viewer"], permissions=["users:write"]
    )
    assert (
        console.post("/console/groups/new/", {"name": "staff", "roles": ["viewer"]}).status_code
        == 302
    )
    created = console.post(
        "/console/groups/new/",
        {"name": "support", "description": "First line", "parents": ["staff"], "roles": ["editor"]},
    )
    support = Group.objects.get(name="support")
    assert created["Location"] == f"/console/groups/{support.pk}/"
    mia = make_user("mia")
    added = console.post(f"/console/groups/{support.pk}/members/", {"username": "mia"})
    assert added.status_code == 302
    assert selectors.user_roles(mia) == ["editor", "viewer"]
    page = text(console.get(f"/console/groups/{support.pk}/"))
    assert "mia" in page and "First line" in page
    assert "via parent group <strong>staff</strong>" in page

    role_services.user_roles_set(user=mia, assignments=[AssignmentSpec("viewer")])
    user_page = text(console.get(f"/console/users/{mia.pk}/"))
    assert "Where each role comes from" in user_page
    viewer_row = user_page[user_page.index("<td>viewer</td>") :].split("</tr>")[0]
    assert "<li>direct</li>" in viewer_row
    assert (
        "group <strong>support</strong>, inherited from role <strong>editor</strong>" in viewer_row
    )
    assert "group <strong>support</strong>, via parent group <strong>staff</strong>" in viewer_row
    assert AuditEvent.objects.filter(event="group.member_added", target="user:mia").exists()
    editor = role_services.Role.objects.get(name="editor")
    role_page = text(console.get(f"/console/roles/{editor.pk}/"))
    assert (
        f'<a href="/console/groups/{support.pk}/">support</a></td><td>group (its members)'
        in role_page
    )


def test_unknown_users_and_cycles_are_explained_on_the_page(console):
    a = group_services.group_create(actor=APPLY, name="a")
    group_services.group_create(actor=APPLY, name="b", parents=["a"])
    unknown = console.post(f"/console/groups/{a.pk}/members/", {"username": "ghost"})
    assert unknown.status_code == 400 and "User &#x27;ghost&#x27; not found." in text(unknown)
    cycle = console.post(f"/console/groups/{a.pk}/edit/", {"name": "a", "parents": ["b"]})
    assert "groups would inherit from themselves: a -&gt; b -&gt; a" in text(cycle)
    assert not a.parents.exists()


def test_members_are_removed_and_the_user_page_sets_groups(console, make_user):
    role_services.role_create(actor=APPLY, name="viewer", permissions=["users:read"])
    staff = group_services.group_create(actor=APPLY, name="staff", roles=["viewer"])
    group_services.group_create(actor=APPLY, name="night-shift")
    mia = make_user("mia")
    saved = console.post(f"/console/users/{mia.pk}/groups/", {"groups": ["staff", "night-shift"]})
    assert saved.status_code == 302
    assert selectors.user_groups(mia.pk) == {"staff", "night-shift"}
    removed = console.post(f"/console/groups/{staff.pk}/members/{mia.pk}/remove/", follow=True)
    assert "mia removed from staff." in text(removed)
    assert selectors.user_roles(mia) == []


def test_deleting_asks_first_and_says_who_loses_what(console, make_user):
    staff = group_services.group_create(actor=APPLY, name="staff")
    group_services.group_create(actor=APPLY, name="support", parents=["staff"])
    group_services.group_member_add(actor=APPLY, group=staff, user=make_user("mia"))
    confirm = text(console.get(f"/console/groups/{staff.pk}/delete/"))
    assert "1 member(s) lose the roles it gives them." in confirm and "support" in confirm
    assert Group.objects.filter(name="staff").exists()
    done = console.post(f"/console/groups/{staff.pk}/delete/", follow=True)
    assert "Group staff deleted." in text(done)
    assert list(Group.objects.values_list("name", flat=True)) == ["support"]


def test_the_list_is_searched_and_paged(console):
    for n in range(52):
        Group.objects.create(name=f"team-{n:02}")
    group_services.group_create(actor=APPLY, name="payroll", description="Pays people")
    found = text(console.get("/console/groups/?q=pays"))
    assert "payroll" in found and "team-00" not in found
    first = text(console.get("/console/groups/?q=team"))
    assert "Page 1 of 2" in first
    assert "No groups match." in text(console.get("/console/groups/?q=nothing-like-it"))


def test_nobody_hands_out_through_a_group_what_they_lack(client, make_user, grant_roles):
    from console import access

    role_services.role_create(actor=APPLY, name="boss", permissions=["security:write"])
    power = group_services.group_create(actor=APPLY, name="power", roles=["boss"])
    manager = make_user("manager")
    grant_roles(manager, access.CONSOLE_ACCESS, "groups:read", "groups:write", "users:write")
    target = make_user("mia")
    sign_in(client, manager)
    refused = client.post(f"/console/groups/{power.pk}/members/", {"username": "mia"})
    assert "security:write" in text(refused)
    assert not power.members.filter(pk=target.pk).exists()
    assert client.get("/console/groups/").status_code == 200
    reader = make_user("reader")
    grant_roles(reader, access.CONSOLE_ACCESS, "users:read")
    client.logout()
    sign_in(client, reader)
    assert client.get("/console/groups/").status_code == 403
    assert not User.objects.get(username="mia").member_groups.exists()
