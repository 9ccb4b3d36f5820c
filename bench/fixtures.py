"""What the load needs: the bench config (clients, users, roles, API keys), tokens, filler rows.

Everything here runs in the driver process against the bench database, through the project's
own code (``apply``) or over HTTP against the server under test (tokens come from real flows).
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
import yaml
from django.db import connection, transaction

PASSWORD = "bench-password-Quietly-Rotating-42"
REDIRECT_URI = "http://127.0.0.1/bench/callback"
FILLER_SCOPE = "bench-filler"
EVALUATE_PERMISSION = "authz:evaluate"
BENCH_API = "https://bench-api.example.test/"


@dataclass
class Credentials:
    """One-time secrets printed by ``apply`` (clients) and, when the build has them, API keys."""

    secrets: dict[str, str]
    api_key: str | None


def available_sections() -> set[str]:
    from core.declarative import SECTIONS

    return {section.name for section in SECTIONS}


def role_chains(chains: int, depth: int = 10) -> list[dict[str, Any]]:
    """``chains`` independent hierarchies ``depth`` deep; role ``c0-d9`` inherits 9 ancestors."""
    roles = []
    for chain in range(chains):
        for level in range(depth):
            role: dict[str, Any] = {
                "name": f"c{chain}-d{level}",
                "permissions": [f"bench{chain}:level{level}", f"GET /api/c{chain}/l{level}/**"],
            }
            if level:
                role["parents"] = [f"c{chain}-d{level - 1}"]
            roles.append(role)
    return roles


SIGN_IN_USERS = 64  # bench-user-0 ... : one per connection of the sign-in rows


def bench_config(sections: set[str], sign_in_users: int = SIGN_IN_USERS) -> dict[str, Any]:
    """Clients and users for every target (``sign_in_users`` for the sign-in rows); roles and
    an API key when this build supports them."""
    m2m: dict[str, Any] = {
        "client_id": "bench-m2m",
        "name": "Bench machine client",
        "type": "confidential",
        "grant_types": ["client_credentials"],
        "scopes": ["api:read"],
        "access_token_lifetime": 3600,  # the token introspected by every round outlives the run
    }
    rs: dict[str, Any] = {
        "client_id": "bench-rs",
        "name": "Bench resource server",
        "type": "confidential",
        "grant_types": ["client_credentials"],
    }
    web = {
        "client_id": "bench-web",
        "name": "Bench web app",
        "type": "confidential",
        "grant_types": ["authorization_code", "refresh_token"],
        "redirect_uris": [REDIRECT_URI],
        "scopes": ["openid", "offline_access"],
        "skip_consent": True,
        "access_token_lifetime": 3600,
    }
    user: dict[str, Any] = {
        "username": "bench-user",
        "password": PASSWORD,
        "email": "b@example.com",
    }
    signers = [
        {"username": f"bench-user-{i}", "password": PASSWORD, "email": f"b{i}@example.com"}
        for i in range(sign_in_users)
    ]
    config: dict[str, Any] = {"clients": [m2m, rs, web], "users": [user, *signers]}
    if "roles" in sections:
        config["roles"] = [
            *role_chains(1),
            {"name": "bench-evaluator", "permissions": [EVALUATE_PERMISSION]},
        ]
        rs["roles"] = ["bench-evaluator"]
        m2m["roles"] = ["c0-d9"]
        user["roles"] = ["c0-d9"]
    if "api_keys" in sections:
        key: dict[str, Any] = {"name": "bench-key", "client": "bench-m2m"}
        if "roles" in sections:
            key["roles"] = ["c0-d9"]
        config["api_keys"] = [key]
    return config


def apply_config(config: dict[str, Any], path: Path) -> Credentials:
    from core.declarative import apply_file

    path.write_text(yaml.safe_dump(config, sort_keys=False))
    result = apply_file(path).sections
    register_bench_api()
    client_secrets = {
        client_id: data["client_secret"]
        for client_id, data in result.get("clients", {}).items()
        if "client_secret" in data
    }
    api_key = result.get("api_keys", {}).get("bench-key", {}).get("key")
    return Credentials(secrets=client_secrets, api_key=api_key)


def register_bench_api() -> None:
    """``bench-rs`` is the client of a registered API, so introspection answers it about the
    audience-less tokens the targets introspect (``oauth.apis.may_learn``); anyone else would
    measure the ``{"active": false}`` path."""
    from oauth.models import Api, Client

    rs = Client.objects.get(client_id="bench-rs")
    Api.objects.update_or_create(identifier=BENCH_API, defaults={"name": "Bench API", "client": rs})


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def client_credentials_token(base: str, auth: str) -> str:
    response = requests.post(
        f"{base}/o/token/",
        data={"grant_type": "client_credentials", "scope": "api:read"},
        headers={"Authorization": auth},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()["access_token"]


def login_form(base: str) -> tuple[str, str]:
    """A CSRF cookie and the matching form token, reusable for many sign-ins."""
    session = requests.Session()
    page = session.get(f"{base}/accounts/login/", timeout=10)
    page.raise_for_status()
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    if match is None:
        raise RuntimeError("no CSRF token in the login page")
    return session.cookies["csrftoken"], match.group(1)


def signed_in_session(base: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base}/accounts/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    if token is None:
        raise RuntimeError("no CSRF token in the login page")
    response = session.post(
        f"{base}/accounts/login/",
        data={"username": "bench-user", "password": PASSWORD, "csrfmiddlewaretoken": token[1]},
        allow_redirects=False,
        timeout=30,
    )
    if response.status_code != 302:
        raise RuntimeError(f"bench-user sign-in failed ({response.status_code})")
    return session


def pkce_pair() -> tuple[str, str]:
    """A PKCE verifier and its S256 challenge."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def authorize_query(challenge: str) -> dict[str, str]:
    """The authorization request of ``bench-web`` (code, PKCE S256, ``offline_access``)."""
    return {
        "response_type": "code",
        "client_id": "bench-web",
        "redirect_uri": REDIRECT_URI,
        "scope": "openid offline_access",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": secrets.token_urlsafe(8),
    }


def authorization_code(base: str, session: requests.Session) -> tuple[str, str]:
    """A fresh code of a signed-in ``session`` from ``/o/authorize/`` and its PKCE verifier."""
    verifier, challenge = pkce_pair()
    response = session.get(
        f"{base}/o/authorize/",
        params=authorize_query(challenge),
        allow_redirects=False,
        timeout=10,
    )
    query = parse_qs(urlsplit(response.headers.get("Location", "")).query)
    if response.status_code != 302 or "code" not in query:
        raise RuntimeError(f"authorize did not return a code ({response.status_code})")
    return query["code"][0], verifier


def code_flow_tokens(base: str, session: requests.Session, auth: str) -> dict[str, Any]:
    """One authorization-code flow (PKCE S256, offline_access): the token response."""
    code, verifier = authorization_code(base, session)
    exchange = requests.post(
        f"{base}/o/token/",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
        headers={"Authorization": auth},
        timeout=10,
    )
    exchange.raise_for_status()
    return exchange.json()


def code_pool(base: str, count: int, path: Path, workers: int = 8, budget: float = 30) -> Path:
    """Write up to ``count`` fresh authorization codes of ``bench-user`` to ``path``, one
    ``code verifier`` a line, made within ``budget`` seconds: codes live
    ``AUTHORIZATION_CODE_LIFETIME`` (60 s), so the run that spends them must start soon after
    (on a busy machine the pool is smaller, and the run ends when it is spent)."""
    sessions = [signed_in_session(base) for _ in range(workers)]
    deadline = time.monotonic() + budget
    share = -(-count // workers)

    def make(session: requests.Session) -> list[tuple[str, str]]:
        pairs = []
        while len(pairs) < share and time.monotonic() < deadline:
            pairs.append(authorization_code(base, session))
        return pairs

    with ThreadPoolExecutor(max_workers=workers) as pool:
        made = [pair for pairs in pool.map(make, sessions) for pair in pairs]
    path.write_text("".join(f"{code} {verifier}\n" for code, verifier in made))
    path.chmod(0o600)
    return path


def journey_env(base: str, auth: str) -> dict[str, str]:
    """What ``bench/lua/journey.lua`` sends: the authorization URL, the sign-in form (the CSRF
    pair reused), the client's credentials and the token request but for its code."""
    verifier, challenge = pkce_pair()
    authorize = f"/o/authorize/?{urlencode(authorize_query(challenge))}"
    csrf_cookie, csrf_token = login_form(base)
    login = {
        "username": "BENCH_USERNAME",  # journey.lua: bench-user-<its thread>
        "password": PASSWORD,
        "csrfmiddlewaretoken": csrf_token,
        "next": authorize,
    }
    token = {
        "grant_type": "authorization_code",
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
    }
    return {
        "BENCH_AUTHORIZE": authorize,
        "BENCH_LOGIN_BODY": urlencode(login),
        "BENCH_CSRF_COOKIE": csrf_cookie,
        "BENCH_CLIENT_AUTH": auth,
        "BENCH_TOKEN_BODY": urlencode(token) + "&code=",
    }


def _refresh_token(base: str, session: requests.Session, auth: str) -> str:
    return code_flow_tokens(base, session, auth)["refresh_token"]


def refresh_token_pool(base: str, auth: str, count: int, path: Path) -> Path:
    """Write ``count`` never-used refresh tokens to ``path`` (one a line)."""
    session = signed_in_session(base)
    with ThreadPoolExecutor(max_workers=4) as pool:
        tokens = list(pool.map(lambda _: _refresh_token(base, session, auth), range(count)))
    path.write_text("\n".join(tokens) + "\n")
    path.chmod(0o600)
    return path


# --- stored-token scaling -------------------------------------------------------------------


def access_token_rows() -> int:
    from oauth2_provider.models import get_access_token_model

    return get_access_token_model().objects.count()


def _filler_rows(count: int, application_id: int) -> Iterator[tuple[Any, ...]]:
    expires = datetime.now(tz=UTC) + timedelta(days=1)
    now = datetime.now(tz=UTC)
    for _ in range(count):
        yield ("", secrets.token_hex(32), expires, FILLER_SCOPE, application_id, now, now, "[]")


def add_filler_tokens(count: int, application_id: int, batch: int = 20_000) -> None:
    """Bulk-insert ``count`` access-token rows with random checksums (unknown to anyone)."""
    from oauth2_provider.models import get_access_token_model

    table = get_access_token_model()._meta.db_table
    columns = "token, token_checksum, expires, scope, application_id, created, updated, resource"
    rows = _filler_rows(count, application_id)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        sql = f"INSERT INTO {table} ({columns}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"  # noqa: S608
        adapt = connection.ops.adapt_datetimefield_value
        chunk: list[tuple[Any, ...]] = []
        for row in rows:
            chunk.append((*row[:2], adapt(row[2]), *row[3:5], adapt(row[5]), adapt(row[6]), row[7]))
            if len(chunk) == batch:
                cursor.executemany(sql, chunk)
                chunk = []
        if chunk:
            cursor.executemany(sql, chunk)


def settle_database() -> None:
    """After a bulk write: fresh planner statistics (PostgreSQL), an empty WAL (SQLite)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("VACUUM ANALYZE oauth2_provider_accesstoken")
            cursor.execute("CHECKPOINT")  # flush now, not during the measurement
        else:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def remove_filler_tokens() -> None:
    from oauth2_provider.models import get_access_token_model

    table = get_access_token_model()._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE scope = %s", [FILLER_SCOPE])  # noqa: S608
    settle_database()
