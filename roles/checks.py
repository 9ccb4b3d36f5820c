"""The roles' security posture (``manage.py check --deploy``, registered in ``RolesConfig.ready``):
W001 an admin-like role without require_mfa, W002 a wildcard method on a non-admin role."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.checks import Warning

from core.checks import over_stored_rows
from roles import policy
from roles.models import Role


def _is_admin_like(role: Role, rules: list[policy.EndpointRule]) -> bool:
    return "admin" in role.name.lower() or any(
        r.method == "*" and "**" in r.segments for r in rules
    )


def _rules(role: Role) -> list[policy.EndpointRule]:
    parsed = (policy.parse_permission(p.value) for p in role.permissions.all())
    return [p for p in parsed if isinstance(p, policy.EndpointRule)]


@over_stored_rows
def role_posture() -> Iterable[Warning]:
    for role in Role.objects.prefetch_related("permissions"):
        rules = _rules(role)
        if _is_admin_like(role, rules) and not role.require_mfa:
            yield Warning(
                f"Role {role.name!r} grants administrative access without require_mfa.",
                hint="Set require_mfa: true on the role (apply file or management API).",
                obj=role.name,
                id="authserver.W001",
            )
        if "admin" not in role.name.lower() and any(r.method == "*" for r in rules):
            yield Warning(
                f"Role {role.name!r} has a wildcard-method endpoint rule.",
                hint="List the methods it needs (GET, POST, ...) instead of '*'.",
                obj=role.name,
                id="authserver.W002",
            )
