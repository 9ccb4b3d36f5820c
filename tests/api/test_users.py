"""Users: the happy path, mass assignment, filters, ordering and pagination."""

from __future__ import annotations

from accounts.models import User
from tests.api.conftest import assert_problem, error_fields
from tests.conftest import PASSWORD


def test_create_list_retrieve_update_user(admin):
    created = admin.post(
        "/api/v1/users/", {"username": "carol", "email": "carol@example.com", "password": PASSWORD}
    )
    assert created.status_code == 201, created.content
    assert created.json()["username"] == "carol"
    assert "password" not in created.json()
    assert User.objects.get(username="carol").check_password(PASSWORD)

    listed = admin.get("/api/v1/users/?username=car")
    assert [u["username"] for u in listed.json()["results"]] == ["carol"]

    updated = admin.patch("/api/v1/users/carol/", {"name": "Carol C."})
    assert updated.status_code == 200
    assert admin.get("/api/v1/users/carol/").json()["name"] == "Carol C."


def test_weak_password_and_duplicate_username_are_400(admin, make_user):
    make_user("dave")
    body = assert_problem(
        admin.post("/api/v1/users/", {"username": "dave"}), 400, "validation-error"
    )
    assert "username" in error_fields(body)
    weak = admin.post("/api/v1/users/", {"username": "erin", "password": "123"})
    assert "password" in error_fields(assert_problem(weak, 400, "validation-error"))


def test_privileged_fields_are_refused_not_assigned(admin, make_user):
    make_user("frank")
    for body in (
        {"is_superuser": True},
        {"is_staff": True},
        {"password": "x" * 20},
        {"roles": ["admin"]},
        {"mfa_required": False},
    ):
        response = admin.patch("/api/v1/users/frank/", body)
        assert_problem(response, 400, "validation-error")
    created = admin.post("/api/v1/users/", {"username": "gina", "is_superuser": True})
    assert_problem(created, 400, "validation-error")
    frank = User.objects.get(username="frank")
    assert not frank.is_superuser and not frank.is_staff
    assert not User.objects.filter(username="gina").exists()


def test_no_response_contains_a_password_hash(admin, make_user):
    make_user("hank")
    for path in ("/api/v1/users/", "/api/v1/users/hank/"):
        assert "argon2" not in admin.get(path).content.decode()


def test_ordering_only_on_allowed_fields(admin, make_user):
    make_user("ivan")
    make_user("judy")
    assert_problem(admin.get("/api/v1/users/?ordering=password"), 400, "validation-error")
    names = [
        u["username"] for u in admin.get("/api/v1/users/?ordering=-username").json()["results"]
    ]
    assert names == sorted(names, reverse=True)
    assert_problem(admin.get("/api/v1/users/?bogus=1"), 400, "validation-error")


def test_page_size_is_capped(admin, make_user):
    User.objects.bulk_create(User(username=f"bulk{i:03}") for i in range(120))
    page = admin.get("/api/v1/users/?page_size=100").json()
    assert page["count"] >= 120
    assert len(page["results"]) == 100
    # Beyond the cap is refused, not quietly cut to it (tests/api/test_pagination.py).
    assert_problem(admin.get("/api/v1/users/?page_size=100000"), 400, "validation-error")


def test_disable_ends_sessions_and_enable_restores(admin, make_user):
    make_user("kate")
    disabled = admin.post("/api/v1/users/kate/disable/")
    assert disabled.status_code == 200 and disabled.json()["is_active"] is False
    assert not User.objects.get(username="kate").is_active
    assert admin.post("/api/v1/users/kate/enable/").json()["is_active"] is True


def test_set_password(admin, make_user):
    make_user("liam")
    new = "another long passphrase 42"
    assert admin.post("/api/v1/users/liam/password/", {"password": new}).status_code == 204
    assert User.objects.get(username="liam").check_password(new)
    assert_problem(
        admin.post("/api/v1/users/liam/password/", {"password": "short"}), 400, "validation-error"
    )
