"""Claim-to-role rules (pure)."""

from __future__ import annotations

import pytest

from federation import mapping

RULES = mapping.clean_rules(
    [
        {"claim": "groups", "value": "admins", "roles": ["admin"]},
        {"claim": "realm_access.roles", "value": "ops", "roles": ["admin", "ops"]},
        {"claim": "staff", "value": True, "roles": ["staff"]},
    ]
)


def test_each_named_role_is_held_iff_a_rule_matches():
    claims = {"groups": ["users"], "realm_access": {"roles": ["ops"]}, "staff": "true"}
    assert mapping.roles_for(RULES, claims) == {"admin": True, "ops": True, "staff": False}
    assert mapping.roles_for(RULES, {"groups": "admins", "staff": True}) == {
        "admin": True,
        "ops": False,
        "staff": True,
    }


@pytest.mark.parametrize(
    "rules",
    [
        "groups",
        [{"claim": "groups", "value": "x"}],
        [{"claim": "", "value": "x", "roles": ["a"]}],
        [{"claim": "g", "value": ["x"], "roles": ["a"]}],
        [{"claim": "g", "value": "x", "roles": []}],
        [{"claim": "g", "value": "x", "roles": ["a"], "extra": 1}],
    ],
)
def test_malformed_rules_are_refused(rules):
    with pytest.raises(ValueError):
        mapping.clean_rules(rules)
