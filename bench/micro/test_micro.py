"""In-process micro-benchmarks of the hot paths' building blocks (pytest-benchmark).

Run with ``make bench-micro``. They time; they assert only that each call gives the right answer.
Modules from other issues (RBAC resolver and glob matching, TOTP) are benchmarked when this build
has them and skipped, with the reason, otherwise.
"""

from __future__ import annotations

import importlib
import time

import argon2
import pytest
from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password

from oauth import introspection, tokens
from oauth.selectors import client_get

SECRET = "x" * 43  # the length of a generated client secret (32 random bytes, base64url)


def optional(module: str, *names: str):  # noqa: ANN201 - a module or a skip
    """``module`` when this build has it with ``names``; skip the benchmark otherwise."""
    try:
        found = importlib.import_module(module)
    except ImportError:
        pytest.skip(f"{module} is not in this build")
    missing = [name for name in names if not hasattr(found, name)]
    if missing:
        pytest.skip(f"{module} has no {', '.join(missing)}: update bench/micro for its API")
    return found


# --- client-secret verification ----------------------------------------------------------


def test_client_secret_hmac_sha256(benchmark, db):
    encoded = make_password(SECRET, hasher="hmac_sha256")
    assert benchmark(check_password, SECRET, encoded)


def test_client_secret_argon2_django_default(benchmark, db):
    """For contrast: what a password-grade hash per request would cost (DOT's default)."""
    encoded = make_password(SECRET, hasher="argon2")
    assert benchmark.pedantic(check_password, (SECRET, encoded), rounds=3, iterations=1)


def test_password_argon2_owasp_minimum(benchmark):
    """For contrast: Argon2id at OWASP's minimum (19 MiB, t=2, p=1)."""
    hasher = argon2.PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
    encoded = hasher.hash(SECRET)
    assert benchmark.pedantic(hasher.verify, (encoded, SECRET), rounds=5, iterations=1)


# --- JWTs ----------------------------------------------------------------------------------


def _claims() -> dict:
    now = int(time.time())
    return {
        "iss": settings.ISSUER_URL,  # what ``tokens.verify`` expects
        "sub": "micro-m2m",
        "aud": settings.ISSUER_URL,
        "exp": now + 600,
        "iat": now,
        "jti": "j" * 22,
        "client_id": "micro-m2m",
        "scope": "api:read",
    }


@pytest.mark.parametrize("algorithm", ["ES256", "RS256"])
def test_jwt_sign(benchmark, db, algorithm):
    assert benchmark(tokens.sign, _claims(), algorithm=algorithm, typ="at+jwt").count(".") == 2


def test_jwt_verify_es256(benchmark, db):
    token = tokens.sign(_claims(), algorithm="ES256", typ="at+jwt")
    assert benchmark(tokens.verify, token, typ="at+jwt")["sub"] == "micro-m2m"


def test_jwt_unverified_claims(benchmark, db):
    token = tokens.sign(_claims(), algorithm="ES256", typ="at+jwt")
    assert benchmark(tokens.unverified_claims, token)["sub"] == "micro-m2m"


# --- introspection and cached reads ----------------------------------------------------------


def test_introspection_lookup(benchmark, access_token, machine_client):
    client, _ = machine_client
    assert benchmark(introspection.introspect, access_token, caller=client)["active"]


def test_client_get_warm(benchmark, machine_client):
    client_get("micro-m2m")
    assert benchmark(client_get, "micro-m2m") is not None


# --- other issues' modules, when present -----------------------------------------------------


def _role_graph(policy, chains: int):  # noqa: ANN001, ANN202 - roles.policy is optional
    roles = []
    for chain in range(chains):
        for level in range(10):
            parents = (f"c{chain}-d{level - 1}",) if level else ()
            permissions = frozenset({f"p{chain}:{level}", f"GET /api/c{chain}/l{level}/**"})
            roles.append(policy.Role(f"c{chain}-d{level}", parents, permissions))
    return policy.RoleGraph.of(roles)


@pytest.mark.parametrize("chains", [1, 1000], ids=["10-roles", "10000-roles"])
def test_permission_resolver(benchmark, chains):
    """Resolving the leaf of a 10-deep chain, with 10 or 10,000 roles in the graph."""
    policy = optional("roles.policy", "Role", "RoleGraph", "resolve")
    graph = _role_graph(policy, chains)
    grant = benchmark(policy.resolve, graph, ["c0-d9"])
    assert len(grant.roles) == 10


def test_glob_matching(benchmark):
    """A compiled permission set deciding one request path (endpoint rules with globs)."""
    policy = optional("roles.policy", "Role", "RoleGraph", "resolve")
    grant = policy.resolve(_role_graph(policy, 1), ["c0-d9"])
    assert benchmark(grant.allows, "GET", "route", "/api/c0/l3/orders/42")


def test_totp_verification(benchmark):
    totp = optional("mfa.totp", "code_at", "matching_step")
    secret = totp.generate_secret()
    now = time.time()
    code = totp.code_at(secret, now)
    assert benchmark(totp.matching_step, secret, code, now=now) is not None
