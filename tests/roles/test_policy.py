"""The pure policy: matching semantics, path normalisation, inheritance, cycles (no database)."""

from __future__ import annotations

import pytest

from roles import policy
from roles.policy import PolicyError, RoleGraph


def allows(permissions: list[str], method: str, path: str) -> bool:
    grant = policy.Grant(frozenset(), policy.compile_permissions(permissions), False)
    return policy.decide(grant, action=method, resource_type="route", resource_id=path)


# --- glob matching ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "path", "expected"),
    [
        ("GET /api/orders/*", "/api/orders/42", True),
        ("GET /api/orders/*", "/api/orders", False),  # * is exactly one segment
        ("GET /api/orders/*", "/api/orders/42/items", False),
        ("GET /api/orders/*", "/api/orders//", False),  # not an empty segment
        ("GET /api/orders/**", "/api/orders", True),  # ** is zero or more segments
        ("GET /api/orders/**", "/api/orders/42/items/7", True),
        ("GET /api/orders/**", "/api/ordersX", False),
        ("GET /api/*/items", "/api/42/items", True),
        ("GET /api/**/items", "/api/items", True),
        ("GET /api/**/items", "/api/a/b/items", True),
        ("GET /api/**/items", "/api/a/b/item", False),
        ("POST /api/orders", "/api/orders", True),
        ("POST /api/orders", "/api/orders/1", False),
        ("GET /", "/", True),
        ("GET /", "/x", False),
        ("GET /**", "/", True),
        ("GET /**", "/anything/at/all", True),
        ("GET /api/a.b", "/api/aXb", False),  # literals are literal, not regex
    ],
)
def test_glob_segments(rule: str, path: str, expected: bool) -> None:
    assert allows([rule], "GET" if rule.startswith("GET") else "POST", path) is expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/api/orders/42/", True),  # trailing slash ignored
        ("/api/orders/42?admin=1", True),  # query dropped
        ("/api/orders/42?", True),
        ("/api/%6Frders/42", True),  # %6F is "o", unreserved: decoded
        ("/api/orders/%34%32", True),
        ("/api/orders/4%2", False),  # broken percent-encoding
        ("/api/orders/../orders/42", False),  # dot segments are denied, not resolved
        ("/api/orders/./42", False),
        ("/api/orders/%2e%2e/42", False),  # encoded dots are dots
        ("/api/orders/%2E/42", False),
        ("/api/orders%2F42", False),  # encoded slash
        ("/api/orders%2f42", False),
        ("/api//orders/42", False),  # empty segment
        ("api/orders/42", False),  # not absolute
        ("https://evil.example/api/orders/42", False),
        ("/api/orders/4 2", False),
        ("/api/orders\\42", False),
        ("/api/orders/42#frag", False),
        ("", False),
    ],
)
def test_path_normalisation(path: str, expected: bool) -> None:
    assert allows(["GET /api/orders/*"], "GET", path) is expected


def test_reserved_percent_encodings_stay_encoded() -> None:
    assert allows(["GET /files/a%20b"], "GET", "/files/a%20b")
    assert allows(["GET /files/%5Bx%5D"], "GET", "/files/%5bx%5d")  # hex case does not matter
    assert not allows(["GET /files/%5Bx%5D"], "GET", "/files/[x]")  # reserved: not decoded
    assert allows(["GET /home/~bob"], "GET", "/home/%7Ebob")


def test_methods_are_case_sensitive_and_star_is_any() -> None:
    assert allows(["GET /x"], "GET", "/x")
    assert not allows(["GET /x"], "get", "/x")
    assert not allows(["GET /x"], "POST", "/x")
    assert allows(["* /x"], "DELETE", "/x")
    assert allows(["* /x"], "get", "/x")


def test_named_permission_matches_action_whatever_the_resource() -> None:
    grant = policy.Grant(frozenset(), policy.compile_permissions(["orders:read"]), False)
    assert policy.decide(grant, action="orders:read", resource_type="order", resource_id="42")
    assert policy.decide(grant, action="orders:read", resource_type="route", resource_id="/..")
    assert not policy.decide(grant, action="orders:write", resource_type="order", resource_id="1")
    assert not policy.decide(grant, action="", resource_type="order", resource_id="1")


def test_endpoint_rules_only_match_route_resources() -> None:
    grant = policy.Grant(frozenset(), policy.compile_permissions(["GET /api/**"]), False)
    assert not policy.decide(grant, action="GET", resource_type="document", resource_id="/api")


@pytest.mark.parametrize(
    "text",
    [
        "GET api/orders",  # not absolute
        "GET /api/ord*",  # partial wildcard
        "GET /api/../admin",
        "GET /api?x=1",
        "G ET /x",
        "GET* /x",
        "GET /a//b",
        "has space",
        "",
        "GET /**/a/**/b/**",  # too many **
    ],
)
def test_bad_permissions_are_refused(text: str) -> None:
    with pytest.raises(PolicyError):
        policy.parse_permission(text)


def test_permissions_have_a_canonical_form() -> None:
    assert policy.canonical_permission("GET /api/orders/") == "GET /api/orders"
    assert policy.canonical_permission("GET /api/%6Frders/**/**") == "GET /api/orders/**"
    assert policy.canonical_permission("orders:read") == "orders:read"


# --- inheritance ------------------------------------------------------------------------------


def graph(**roles: tuple[list[str], list[str]]) -> RoleGraph:
    return RoleGraph.of(
        policy.Role(name, tuple(parents), frozenset(perms))
        for name, (parents, perms) in roles.items()
    )


def test_inheritance_across_levels_and_diamonds() -> None:
    g = graph(
        base=([], ["base:read"]),
        left=(["base"], ["left:x"]),
        right=(["base"], ["right:x"]),
        top=(["left", "right"], ["top:x"]),
        leaf=(["top"], []),
    )
    assert policy.effective_roles(g, ["leaf"]) == {"leaf", "top", "left", "right", "base"}
    assert policy.effective_permissions(g, ["leaf"]) == {
        "base:read",
        "left:x",
        "right:x",
        "top:x",
    }
    assert policy.effective_permissions(g, ["left"]) == {"base:read", "left:x"}
    assert policy.effective_permissions(g, ["unknown"]) == frozenset()


def test_require_mfa_is_inherited() -> None:
    g = RoleGraph.of([policy.Role("admin", (), frozenset(), True), policy.Role("root", ("admin",))])
    assert policy.resolve(g, ["root"]).require_mfa
    assert not policy.resolve(g, []).require_mfa


def test_find_cycle() -> None:
    assert policy.find_cycle({"a": ["b"], "b": ["c"], "c": []}) is None
    assert policy.find_cycle({"a": ["b"], "b": ["c"], "c": ["a"]}) == ["a", "b", "c", "a"]
    assert policy.find_cycle({"a": ["a"]}) == ["a", "a"]
    assert policy.find_cycle({"a": ["b", "c"], "b": ["d"], "c": ["d"], "d": []}) is None
