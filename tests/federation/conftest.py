"""The federation tests' upstream: panva's oidc-provider (npm, pinned in ``upstream/``),
installed once into ``var/node/federation-upstream`` (never committed) and started on loopback
once per test session. Tests skip with the reason when node or npm is missing or the install
fails (no registry)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import requests
from django.conf import settings

from core.actors import APPLY
from federation import services
from roles import services as role_services

HERE = Path(__file__).resolve().parent / "upstream"
ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / "var" / "node" / "federation-upstream"
CLIENT_ID = "authserver"
CLIENT_SECRET = "upstream-test-secret-0123456789abcdef"
ACCOUNTS = {
    "alice": {
        "email": "alice@corp.example",
        "email_verified": True,
        "name": "Alice Upstream",
        "preferred_username": "alice",
        "groups": ["platform-admins", "staff"],
    },
    "bob": {
        "email": "bob@corp.example",
        "email_verified": False,
        "name": "Bob",
        "groups": ["staff"],
    },
}


def _install() -> Path:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip(
            "node and npm are needed for the oidc-provider upstream (apt install nodejs npm)"
        )
    CACHE.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "package-lock.json", "provider.mjs"):
        shutil.copyfile(HERE / name, CACHE / name)
    wanted = json.loads((HERE / "package.json").read_text())["dependencies"]["oidc-provider"]
    installed = CACHE / "node_modules" / "oidc-provider" / "package.json"
    if not installed.exists() or json.loads(installed.read_text())["version"] != wanted:
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
            cwd=CACHE,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if result.returncode != 0:
            pytest.skip(f"npm could not install oidc-provider {wanted}: {result.stderr[-500:]}")
    return CACHE


@dataclass
class Upstream:
    issuer: str

    def sign_in(self, authorize_url: str, login: str) -> str:
        """Drive the upstream's own login page with a real HTTP client, from our redirect to
        its authorization endpoint until it redirects back to us; that callback URL."""
        browser = requests.Session()
        url = authorize_url
        for _ in range(10):
            response = browser.get(url, allow_redirects=False, timeout=5)
            if response.status_code == 200:  # its login (or consent) page: fill in and submit
                action = re.search(r'<form[^>]*action="([^"]+)"', response.text)
                assert action, response.text[:500]
                fields = dict(
                    re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', response.text)
                )
                if fields.get("prompt") == "login":
                    fields.update(login=login, password="anything")
                response = browser.post(
                    urljoin(url, action.group(1)), fields, allow_redirects=False, timeout=5
                )
            assert response.status_code in (302, 303), (response.status_code, response.text[:500])
            url = urljoin(url, response.headers["Location"])
            if url.startswith(settings.ISSUER_URL):
                return url
        raise AssertionError("the upstream never redirected back")


@pytest.fixture(scope="session")
def upstream() -> Iterator[Upstream]:
    directory = _install()
    issuer_url = settings.ISSUER_URL
    config = {
        "clients": [
            {
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "redirect_uris": [f"{issuer_url}/accounts/login/corp/callback/"],
                "post_logout_redirect_uris": [f"{issuer_url}/accounts/login/corp/logged-out/"],
                "grant_types": ["authorization_code"],
                "response_types": ["code"],
                "token_endpoint_auth_method": "client_secret_basic",
            }
        ],
        "accounts": ACCOUNTS,
    }
    process = subprocess.Popen(
        ["node", "provider.mjs"],
        cwd=directory,
        env={**os.environ, "UPSTREAM_CONFIG": json.dumps(config)},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = process.stdout.readline() if process.stdout else ""
        match = re.fullmatch(r"listening (\d+)\n", line)
        if match is None:
            pytest.fail(f"oidc-provider did not start: {line!r}")
        yield Upstream(f"http://127.0.0.1:{match.group(1)}")
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def outbound_loopback(settings):
    """The guarded fetcher may reach the loopback upstream over http (tests only)."""
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    settings.OUTBOUND_ALLOW_HTTP = True


@pytest.fixture
def corp(db, upstream, outbound_loopback):
    """The provider ``corp`` for the upstream, as the issue's YAML has it."""
    role_services.role_create(actor=APPLY, name="platform-admin", permissions=["platform:admin"])
    role_services.role_create(actor=APPLY, name="contractor", permissions=["wiki:read"])
    return services.provider_create(
        actor=APPLY,
        spec={
            "slug": "corp",
            "name": "Corp SSO",
            "kind": "oidc",
            "issuer": upstream.issuer,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "scopes": ["openid", "email", "profile", "groups"],
            "link_by": "verified_email",
            "provision": True,
            "role_mapping": [
                {"claim": "groups", "value": "platform-admins", "roles": ["platform-admin"]},
                {"claim": "groups", "value": "contractors", "roles": ["contractor"]},
            ],
        },
    )


def local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def sign_in(browser, upstream, login: str = "alice", next_url: str = "/account/providers/"):
    started = browser.get("/accounts/login/corp/", {"next": next_url})
    assert started.status_code == 302
    assert started["Location"].startswith(upstream.issuer + "/")
    return browser.get(local(upstream.sign_in(started["Location"], login)))
