"""The upstream's keys: a ``kid`` missing from the cached key set re-reads discovery and the
key set (the upstream rotated), through the guarded fetcher; HMAC and ``none`` are refused."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from core import fetch
from core.actors import APPLY
from federation import services
from federation import upstream as rp

OLD, NEW = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())


def public_jwk(key, kid: str) -> dict:
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    return {**jwk, "kid": kid, "use": "sig", "alg": "ES256"}


class Issuer(BaseHTTPRequestHandler):
    keys: list[dict] = []
    served: list[str] = []

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.served.append(self.path)
        if self.path == "/.well-known/openid-configuration":
            body = {
                "issuer": base,
                "authorization_endpoint": f"{base}/auth",
                "token_endpoint": f"{base}/token",
                "jwks_uri": f"{base}/jwks",
                "id_token_signing_alg_values_supported": ["ES256", "HS256"],
            }
        else:
            body = {"keys": self.keys}
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def issuer(db, outbound_loopback):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Issuer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    Issuer.keys, Issuer.served = [public_jwk(OLD, "old")], []
    provider = services.provider_create(
        actor=APPLY,
        spec={
            "slug": "rot",
            "name": "Rot",
            "issuer": base,
            "client_id": "me",
            "client_secret": "s",
        },
    )
    yield base, provider
    server.shutdown()


def id_token(base: str, key, kid: str, algorithm: str = "ES256", **claims) -> str:
    now = int(time.time())
    payload = {"iss": base, "sub": "u1", "aud": "me", "iat": now, "exp": now + 300, "nonce": "n"}
    return jwt.encode({**payload, **claims}, key, algorithm=algorithm, headers={"kid": kid})


def test_an_unknown_kid_rereads_the_key_set_once(issuer, clock):
    base, provider = issuer
    assert rp.validate_id_token(provider, id_token(base, OLD, "old"), "n")["sub"] == "u1"
    Issuer.keys = [public_jwk(NEW, "new")]  # the upstream rotated
    clock.advance(fetch.REFETCH_SECONDS + 1)
    assert rp.validate_id_token(provider, id_token(base, NEW, "new"), "n")["sub"] == "u1"
    assert Issuer.served.count("/jwks") == 2
    assert Issuer.served.count("/.well-known/openid-configuration") == 2
    # a key nobody published is refused after that one re-read
    with pytest.raises(rp.UpstreamError, match="no key"):
        rp.validate_id_token(provider, id_token(base, OLD, "gone"), "n")


@pytest.mark.parametrize(
    ("token_of", "message"),
    [
        (lambda base: id_token(base, "s" * 32, "old", algorithm="HS256"), "algorithm 'HS256'"),
        (lambda base: id_token(base, OLD, "old", aud="someone-else"), "Audience"),
        (lambda base: id_token(base, OLD, "old", iss="https://evil.example"), "issuer"),
        (lambda base: id_token(base, OLD, "old", nonce="other"), "nonce"),
        (lambda base: id_token(base, OLD, "old", aud=["me", "x"]), "azp"),
    ],
)
def test_tokens_that_fail_a_check_are_refused(issuer, token_of, message):
    base, provider = issuer
    with pytest.raises(rp.UpstreamError, match=message):
        rp.validate_id_token(provider, token_of(base), "n")


def test_private_key_jwt_signs_with_our_published_key(issuer):
    from oauth import keys

    base, provider = issuer
    provider.token_endpoint_auth_method = "private_key_jwt"
    form, headers = rp._authenticated(provider, {"code": "c"}, f"{base}/token")
    assert headers == {} and form["client_id"] == "me"
    assertion = form["client_assertion"]
    key = keys.verification_key(jwt.get_unverified_header(assertion)["kid"])
    assert key is not None and keys.is_published(key.kid)  # the upstream finds it at /o/jwks/
    claims = jwt.decode(
        assertion,
        key.private_key.public_key(),
        algorithms=[key.algorithm],
        audience=f"{base}/token",
    )
    assert (claims["iss"], claims["sub"]) == ("me", "me")


def test_client_secret_basic_form_encodes_the_credentials(issuer):
    _, provider = issuer
    provider.client_id, provider.client_secret_encrypted = "a:b", ""
    provider.set_client_secret("p@ss word")
    form, headers = rp._authenticated(provider, {"code": "c"}, "https://up.example/token")
    assert "client_secret" not in form
    assert headers["Authorization"] == "Basic YSUzQWI6cCU0MHNzJTIwd29yZA=="
