"""Claims to roles and groups, as pure functions over plain data.

A rule ``{claim, value, roles, groups}`` matches when the claim (a dotted path into nested
objects: ``realm_access.roles``) equals ``value`` or, being a list, contains it. Each role (each
local group) a rule names is held (joined) iff at least one rule naming it matches:
``roles_for`` and ``groups_for`` answer for those only. A rule names at least one role or group;
its canonical form always has ``roles`` (possibly empty) and ``groups`` only when it names some.
"""

from __future__ import annotations

from typing import Any

MAX_RULES = 100


def clean_rules(value: Any) -> list[dict[str, Any]]:
    """The rules in canonical form, or ``ValueError`` naming what is wrong."""
    if not isinstance(value, list) or len(value) > MAX_RULES:
        raise ValueError(f"must be a list of at most {MAX_RULES} rules")
    rules = []
    for index, rule in enumerate(value):
        where = f"rule {index + 1}"
        if not isinstance(rule, dict) or set(rule) - {"claim", "value", "roles", "groups"}:
            raise ValueError(f"{where}: a rule has claim, value, roles and groups")
        claim, wanted = rule.get("claim"), rule.get("value")
        roles, groups = rule.get("roles", []), rule.get("groups", [])
        if not isinstance(claim, str) or not claim or len(claim) > 255:
            raise ValueError(f"{where}: claim must be a claim name")
        if not isinstance(wanted, str | bool | int) or (isinstance(wanted, str) and not wanted):
            raise ValueError(f"{where}: value must be a string, number or true/false")
        if not _names(roles):
            raise ValueError(f"{where}: roles must be a list of role names")
        if not _names(groups):
            raise ValueError(f"{where}: groups must be a list of group names")
        if not roles and not groups:
            raise ValueError(f"{where}: a rule names at least one role or group")
        clean = {"claim": claim, "value": wanted, "roles": list(dict.fromkeys(roles))}
        if groups:
            clean["groups"] = list(dict.fromkeys(groups))
        rules.append(clean)
    return rules


def _names(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and v for v in value)


def claim_value(claims: dict[str, Any], path: str) -> Any:
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def matches(rule: dict[str, Any], claims: dict[str, Any]) -> bool:
    value = claim_value(claims, rule["claim"])
    wanted = rule["value"]
    if isinstance(value, list):
        return any(item == wanted and type(item) is type(wanted) for item in value)
    return value == wanted and type(value) is type(wanted)


def roles_for(rules: list[dict[str, Any]], claims: dict[str, Any]) -> dict[str, bool]:
    """For each role the rules name: whether the user should hold it."""
    wanted: dict[str, bool] = {}
    for rule in rules:
        hit = matches(rule, claims)
        for role in rule["roles"]:
            wanted[role] = wanted.get(role, False) or hit
    return wanted


def groups_for(rules: list[dict[str, Any]], claims: dict[str, Any]) -> dict[str, bool]:
    """For each local group the rules name: whether the user should be a member."""
    wanted: dict[str, bool] = {}
    for rule in rules:
        hit = matches(rule, claims)
        for group in rule.get("groups", []):
            wanted[group] = wanted.get(group, False) or hit
    return wanted


def named_groups(rules: list[dict[str, Any]]) -> set[str]:
    return {group for rule in rules for group in rule.get("groups", [])}
