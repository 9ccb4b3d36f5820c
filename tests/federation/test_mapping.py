"""Claim-to-role and claim-to-group rules (pure)."""

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


GROUP_RULES = mapping.clean_rules(
    [
        {"claim": "groups", "value": "admins", "roles": ["admin"], "groups": ["operators"]},
        {"claim": "groups", "value": "ops", "groups": ["operators", "on-call"]},
        {"claim": "staff", "value": True, "groups": ["staff"]},
    ]
)


def test_rules_may_name_groups_and_the_canonical_form_keeps_roles():
    assert GROUP_RULES[1] == {
        "claim": "groups",
        "value": "ops",
        "roles": [],
        "groups": ["operators", "on-call"],
    }
    assert "groups" not in RULES[0]
    assert mapping.named_groups(GROUP_RULES) == {"operators", "on-call", "staff"}


def test_each_named_group_is_joined_iff_a_rule_matches():
    assert mapping.groups_for(GROUP_RULES, {"groups": ["ops"], "staff": "yes"}) == {
        "operators": True,
        "on-call": True,
        "staff": False,
    }
    assert mapping.groups_for(GROUP_RULES, {"groups": "admins", "staff": True}) == {
        "operators": True,
        "on-call": False,
        "staff": True,
    }
    assert mapping.groups_for(GROUP_RULES, {}) == dict.fromkeys(
        ("operators", "on-call", "staff"), False
    )
    # rules naming only groups give no roles, and rules naming only roles no groups
    assert mapping.roles_for(GROUP_RULES, {"groups": ["admins", "ops"]}) == {"admin": True}
    assert mapping.groups_for(RULES, {"groups": ["admins"]}) == {}


@pytest.mark.parametrize(
    "rules",
    [
        [{"claim": "g", "value": "x", "roles": [], "groups": []}],
        [{"claim": "g", "value": "x", "groups": "ops"}],
        [{"claim": "g", "value": "x", "groups": [""]}],
        [{"claim": "g", "value": "x", "roles": ["a"], "groups": [1]}],
    ],
)
def test_malformed_group_rules_are_refused(rules):
    with pytest.raises(ValueError):
        mapping.clean_rules(rules)
