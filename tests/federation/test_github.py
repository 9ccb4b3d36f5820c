"""A ``github`` provider (plain OAuth 2: the user and e-mails APIs) against a small loopback
stand-in of GitHub's endpoints (no real GitHub here): the stand-in checks PKCE, the client's
credentials and the bearer token as GitHub does, and answers as its API documents."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from accounts.models import User
from core.actors import APPLY
from federation import services
from federation.models import LinkedIdentity
from tests.conftest import query_of

CLIENT_ID, CLIENT_SECRET = "gh-client", "gh-secret"


class GitHubStandIn(BaseHTTPRequestHandler):
    codes: dict[str, dict] = {}
    tokens: set[str] = set()

    def log_message(self, *args) -> None:
        pass

    def _json(self, status: int, body) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path == "/login/oauth/authorize":  # the user approves at once
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            code = secrets.token_urlsafe(16)
            self.codes[code] = query
            self.send_response(302)
            target = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
            self.send_header("Location", target)
            self.end_headers()
            return
        token = self.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in self.tokens:
            return self._json(401, {"message": "Bad credentials"})
        if parts.path == "/api/v3/user":
            return self._json(200, {"id": 4242, "login": "octo", "name": "Octo Cat"})
        if parts.path == "/api/v3/user/emails":
            return self._json(
                200,
                [
                    {"email": "old@example.org", "primary": False, "verified": True},
                    {"email": "octo@example.org", "primary": True, "verified": True},
                ],
            )
        self._json(404, {"message": "Not Found"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if self.headers.get("Authorization") != f"Basic {expected}":
            return self._json(401, {"error": "invalid_client"})
        asked = self.codes.pop(form.get("code", ""), None)
        digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
        challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        if asked is None or asked["code_challenge"] != challenge:
            return self._json(200, {"error": "bad_verification_code"})
        token = secrets.token_urlsafe(16)
        self.tokens.add(token)
        self._json(200, {"access_token": token, "token_type": "bearer", "scope": "read:user"})


@pytest.fixture(scope="module")
def github():
    server = ThreadingHTTPServer(("127.0.0.1", 0), GitHubStandIn)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def gh(db, github, outbound_loopback):
    return services.provider_create(
        actor=APPLY,
        spec={
            "slug": "gh",
            "name": "GitHub",
            "kind": "github",
            "issuer": github,  # a GitHub Enterprise Server base URL: the stand-in
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "provision": True,
        },
    )


def test_github_sign_in_uses_the_user_and_email_apis(client, gh, github):
    started = client.get("/accounts/login/gh/")
    location = started["Location"]
    assert location.startswith(f"{github}/login/oauth/authorize?")
    assert query_of(location)["scope"] == "read:user user:email"
    assert "nonce" not in query_of(location)

    back = requests.get(location, allow_redirects=False, timeout=5).headers["Location"]
    parts = urlsplit(back)
    answer = client.get(f"{parts.path}?{parts.query}")
    assert answer.status_code == 302
    linked = LinkedIdentity.objects.get(provider=gh)
    assert linked.subject == "4242"  # GitHub's numeric id, not the login or the e-mail
    user = User.objects.get(pk=linked.user_id)
    assert (user.username, user.email, user.name) == ("octo", "octo@example.org", "Octo Cat")
    assert client.session["authserver.auth"]["amr"] == ["fed"]


def test_a_wrong_client_secret_signs_nobody_in(client, gh, github):
    services.provider_update(actor=APPLY, provider=gh, spec={"client_secret": "wrong"})

    location = client.get("/accounts/login/gh/")["Location"]
    back = urlsplit(requests.get(location, allow_redirects=False, timeout=5).headers["Location"])
    answer = client.get(f"{back.path}?{back.query}")
    assert answer.status_code == 502
    assert not User.objects.exists()
