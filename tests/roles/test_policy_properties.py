"""Hypothesis properties of the resolver: inheritance only adds, removal never grants."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from roles import policy

PERMISSIONS = [
    "orders:read",
    "orders:write",
    "reports:export",
    "GET /api/orders/*",
    "GET /api/orders/**",
    "POST /api/orders",
    "* /api/admin/**",
    "PUT /api/*/items",
    "GET /**",
]
REQUESTS = st.tuples(
    st.sampled_from(["GET", "POST", "PUT", "DELETE", "orders:read", "orders:write"]),
    st.sampled_from(
        ["/api/orders", "/api/orders/1", "/api/orders/1/items", "/api/admin", "/api/admin/x", "/"]
    ),
)


@st.composite
def graphs(draw: st.DrawFn) -> policy.RoleGraph:
    """Random acyclic graphs: role i may only inherit from roles before it."""
    count = draw(st.integers(min_value=1, max_value=8))
    roles = []
    for i in range(count):
        parents = draw(st.sets(st.integers(min_value=0, max_value=i - 1))) if i else set()
        permissions = draw(st.frozensets(st.sampled_from(PERMISSIONS), max_size=3))
        roles.append(policy.Role(f"r{i}", tuple(f"r{p}" for p in parents), permissions))
    return policy.RoleGraph.of(roles)


def decide(grant: policy.Grant, request: tuple[str, str]) -> bool:
    action, path = request
    return policy.decide(grant, action=action, resource_type="route", resource_id=path)


@given(graphs(), st.data())
def test_a_child_has_at_least_its_parents_permissions(graph, data) -> None:
    for role in graph.roles.values():
        mine = policy.effective_permissions(graph, [role.name])
        for parent in role.parents:
            assert policy.effective_permissions(graph, [parent]) <= mine
        request = data.draw(REQUESTS)
        child = policy.resolve(graph, [role.name])
        for parent in role.parents:
            if decide(policy.resolve(graph, [parent]), request):
                assert decide(child, request)


@given(graphs(), st.data(), REQUESTS)
def test_removing_a_permission_never_grants_access(graph, data, request) -> None:
    holder = data.draw(st.sampled_from(sorted(graph.roles)))
    victim = data.draw(st.sampled_from(sorted(graph.roles)))
    removed = data.draw(st.sampled_from(PERMISSIONS))
    smaller = policy.RoleGraph.of(
        policy.Role(r.name, r.parents, r.permissions - {removed}) if r.name == victim else r
        for r in graph.roles.values()
    )
    if decide(policy.resolve(smaller, [holder]), request):
        assert decide(policy.resolve(graph, [holder]), request)
