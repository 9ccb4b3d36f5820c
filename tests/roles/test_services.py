"""Role writes and cached reads: graph checks, deletion, expiry, invalidation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core import generations
from core.actors import APPLY
from roles import selectors, services
from roles.models import Role
from roles.services import AssignmentSpec


@pytest.fixture
def chain(make_role):
    """Four levels: viewer <- reader <- editor <- admin."""
    make_role("viewer", permissions=["GET /api/public/**"])
    make_role("reader", parents=["viewer"], permissions=["orders:read", "GET /api/orders/**"])
    make_role("editor", parents=["reader"], permissions=["orders:write", "POST /api/orders"])
    make_role("admin", parents=["editor"], permissions=["* /api/**"], require_mfa=True)


def new_request() -> None:
    """What the start of a request does for the caches (counters re-read once)."""
    generations._reset()


def test_inheritance_over_four_levels(chain, make_user) -> None:
    user = make_user("alice")
    services.user_roles_set(user=user, assignments=[AssignmentSpec("editor")])
    grant = selectors.user_grant(user.pk)
    assert grant.roles == {"editor", "reader", "viewer"}
    assert grant.permissions.strings == {
        "GET /api/public/**",
        "orders:read",
        "GET /api/orders/**",
        "orders:write",
        "POST /api/orders",
    }
    assert not grant.require_mfa
    assert selectors.user_roles(user) == ["editor", "reader", "viewer"]


def test_diamond_inheritance(make_role, make_user) -> None:
    make_role("base", permissions=["base:read"])
    make_role("left", parents=["base"], permissions=["left:x"])
    make_role("right", parents=["base"], permissions=["right:x"])
    make_role("top", parents=["left", "right"])
    user = make_user("alice")
    services.user_roles_set(user=user, assignments=[AssignmentSpec("top")])
    assert selectors.user_grant(user.pk).permissions.strings == {"base:read", "left:x", "right:x"}


def test_cycles_are_rejected_at_write_time(chain) -> None:
    viewer = Role.objects.get(name="viewer")
    with pytest.raises(ValidationError) as error:
        services.role_update(actor=APPLY, role=viewer, parents=["admin"])
    assert "viewer -> admin -> editor -> reader -> viewer" in str(error.value) or (
        "admin -> editor -> reader -> viewer -> admin" in str(error.value)
    )
    assert list(viewer.parents.all()) == []
    with pytest.raises(ValidationError, match="inherit from themselves"):
        services.role_update(actor=APPLY, role=viewer, parents=["viewer"])


def test_unknown_parents_and_bad_permissions_are_rejected(make_role) -> None:
    with pytest.raises(ValidationError, match="unknown role"):
        make_role("x", parents=["nope"])
    with pytest.raises(ValidationError, match="whole segments"):
        make_role("y", permissions=["GET /api/ord*"])
    assert not Role.objects.filter(name__in=["x", "y"]).exists()


def test_deleting_a_role_with_dependants_is_refused_unless_forced(chain) -> None:
    reader = Role.objects.get(name="reader")
    with pytest.raises(ValidationError, match="inherited by editor"):
        services.role_delete(actor=APPLY, role=reader)
    assert Role.objects.filter(name="reader").exists()
    services.role_delete(actor=APPLY, role=reader, force=True)
    assert list(Role.objects.get(name="editor").parents.all()) == []


def test_change_is_visible_to_the_next_request(chain, make_user) -> None:
    user = make_user("alice")
    services.user_roles_set(user=user, assignments=[AssignmentSpec("reader")])
    assert not selectors.user_grant(user.pk).allows("POST", "route", "/api/orders")
    new_request()
    services.role_update(
        actor=APPLY, role=Role.objects.get(name="reader"), permissions=["POST /api/orders"]
    )
    new_request()
    assert selectors.user_grant(user.pk).allows("POST", "route", "/api/orders")
    assert not selectors.user_grant(user.pk).allows("orders:read", None, None)


def test_warm_cache_needs_no_query_beyond_the_generation_read(chain, make_user) -> None:
    user = make_user("alice")
    services.user_roles_set(user=user, assignments=[AssignmentSpec("admin")])
    new_request()
    selectors.user_grant(user.pk)
    new_request()
    with CaptureQueriesContext(connection) as queries:
        grant = selectors.user_grant(user.pk)
    assert grant.require_mfa
    assert [q["sql"] for q in queries] == ["SELECT name, value FROM core_generation"]


def test_assignment_stops_counting_at_expiry_without_a_write(chain, make_user, monkeypatch, clock):
    user = make_user("alice")
    expires = timezone.now() + timedelta(hours=1)
    services.user_roles_set(
        user=user,
        assignments=[AssignmentSpec("viewer"), AssignmentSpec("editor", expires_at=expires)],
    )
    assert "editor" in selectors.user_grant(user.pk).roles  # the cache is now warm
    later = expires.timestamp() + 1
    clock.set(later)
    assert selectors.user_grant(user.pk).roles == {"viewer"}


def test_expired_assignments_count_for_nothing(chain, make_user) -> None:
    user = make_user("alice")
    past = timezone.now() - timedelta(seconds=1)
    services.user_roles_set(user=user, assignments=[AssignmentSpec("admin", expires_at=past)])
    assert selectors.user_grant(user.pk).roles == frozenset()
    assert not selectors.user_requires_mfa(user)


def test_user_requires_mfa_through_inheritance(chain, make_role, make_user) -> None:
    make_role("superadmin", parents=["admin"])
    user = make_user("alice")
    services.user_roles_set(user=user, assignments=[AssignmentSpec("superadmin")])
    assert selectors.user_requires_mfa(user)


def test_client_roles(chain, make_client) -> None:
    client, _ = make_client(client_id="svc")
    assert services.client_roles_set(client=client, assignments=[AssignmentSpec("reader")])
    assert not services.client_roles_set(client=client, assignments=[AssignmentSpec("reader")])
    assert selectors.client_grant(client).roles == {"reader", "viewer"}
    assert selectors.client_grant_by_id("unknown") is None


def test_assignments_set_replaces_the_list(chain, make_user) -> None:
    user = make_user("alice")
    services.user_roles_set(user=user, assignments=[AssignmentSpec("admin")])
    new_request()
    services.user_roles_set(user=user, assignments=[AssignmentSpec("viewer")])
    new_request()
    assert selectors.user_grant(user.pk).roles == {"viewer"}
    with pytest.raises(ValidationError, match="unknown role"):
        services.user_roles_set(user=user, assignments=[AssignmentSpec("ghost")])


# --- audited writes ---------------------------------------------------------------------------


def test_a_role_that_fails_after_the_audit_leaves_neither_role_nor_event(db, monkeypatch) -> None:
    from tests.atomic import AfterAudit, events, fail_after_audit

    fail_after_audit(monkeypatch, services)
    with pytest.raises(AfterAudit):
        services.role_create(actor=APPLY, name="auditor", permissions=["audit:read"])
    assert not Role.objects.filter(name="auditor").exists()
    assert events("role.created") == []


def test_an_assignment_that_fails_after_the_audit_is_not_held(make_user, monkeypatch) -> None:
    from roles.models import UserRole
    from tests.atomic import AfterAudit, events, fail_after_audit

    user = make_user("sam")
    role = services.role_create(actor=APPLY, name="auditor", permissions=["audit:read"])
    fail_after_audit(monkeypatch, services)
    with pytest.raises(AfterAudit):
        services.user_role_set(actor=APPLY, user=user, role=role)
    assert not UserRole.objects.filter(user=user).exists()
    assert events("role.assigned") == []


def test_a_person_without_a_fresh_factor_writes_nothing(make_user) -> None:
    from audit.models import AuditEvent
    from roles import access

    admin = make_user("root")
    services.role_create(actor=APPLY, name="boss", permissions=["roles:write", "audit:read"])
    services.user_roles_set(user=admin, assignments=[AssignmentSpec("boss")])
    before = AuditEvent.objects.count()
    actor = access.acting(access.principal_for_user(admin))  # no second factor proved
    with pytest.raises(access.ReauthenticationRequired):
        services.role_create(actor=actor, name="auditor", permissions=["audit:read"])
    assert not Role.objects.filter(name="auditor").exists()
    assert AuditEvent.objects.count() == before


def test_a_role_above_the_actor_is_refused_and_writes_nothing(make_user) -> None:
    from roles import access

    admin = make_user("root")
    services.role_create(actor=APPLY, name="boss", permissions=["roles:write"])
    services.user_roles_set(user=admin, assignments=[AssignmentSpec("boss")])
    principal = access.principal_for_user(admin, factor_time=timezone.now().timestamp())
    with pytest.raises(access.EscalationDenied):
        services.role_create(
            actor=access.acting(principal), name="auditor", permissions=["audit:read"]
        )
    assert not Role.objects.filter(name="auditor").exists()
