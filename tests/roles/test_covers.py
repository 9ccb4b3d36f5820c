"""``policy.covers``: which held permissions include a wanted one (the escalation guard)."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from roles import policy

SEGMENTS = st.sampled_from(["api", "orders", "1", "items", "*", "**"])
METHODS = st.sampled_from(["GET", "POST", "*"])


@pytest.mark.parametrize(
    ("held", "wanted", "expected"),
    [
        (["orders:read"], "orders:read", True),
        (["orders:read"], "orders:write", False),
        (["* /**"], "orders:read", False),  # a rule never covers a named permission
        (["* /**"], "DELETE /api/anything/*", True),
        (["* /**"], "* /", True),
        (["GET /api/**"], "GET /api/orders/*", True),
        (["GET /api/**"], "GET /api", True),
        (["GET /api/**"], "POST /api/orders", False),
        (["GET /api/**"], "* /api/orders", False),  # '*' is every method, not just GET
        (["GET /api/*"], "GET /api/orders", True),
        (["GET /api/*"], "GET /api/*", True),
        (["GET /api/*"], "GET /api/**", False),  # '**' includes /api itself and deeper paths
        (["GET /api/orders"], "GET /api/*", False),
        (["GET /a/*/c"], "GET /a/**/c", False),
        (["GET /a/**/c"], "GET /a/*/c", True),
        (["GET /x", "GET /api/**"], "GET /api/orders/1", True),
    ],
)
def test_covers(held, wanted, expected):
    assert policy.covers(policy.compile_permissions(held), wanted) is expected


PATHS = st.lists(st.sampled_from(["api", "orders", "1", "items", "x"]), max_size=5)


@given(
    held=st.tuples(METHODS, st.lists(SEGMENTS, max_size=4)),
    wanted=st.tuples(METHODS, st.lists(SEGMENTS, max_size=4)),
    method=st.sampled_from(["GET", "POST"]),
    path=PATHS,
)
def test_a_covered_rule_never_allows_more_than_the_holder(held, wanted, method, path):
    held_rule = f"{held[0]} /{'/'.join(held[1])}"
    wanted_rule = f"{wanted[0]} /{'/'.join(wanted[1])}"
    assume(held[1].count("**") <= policy.MAX_DOUBLE_STARS)
    assume(wanted[1].count("**") <= policy.MAX_DOUBLE_STARS)
    held_set = policy.compile_permissions([held_rule])
    wanted_set = policy.compile_permissions([wanted_rule])
    if policy.covers(held_set, wanted_rule):
        route = "/" + "/".join(path)
        if wanted_set.allows(method, "route", route):
            assert held_set.allows(method, "route", route)
