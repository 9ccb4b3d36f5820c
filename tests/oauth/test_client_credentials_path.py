"""The client-credentials short path (``oauth.client_credentials``) answers every request as
the oauthlib path did (DOT's ``create_token_response``, which the other grants still take):
each request of a matrix is sent through both, and their status, bodies (a token's claims but
its ``jti``), headers and audit events compared. And what a request costs the database."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import urlencode

import jwt
import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEvent
from oauth import client_credentials
from tests.apis import allow_resources, register_api
from tests.conftest import basic_auth
from tests.dpop import Holder

pytestmark = pytest.mark.django_db

TOKEN_URL = f"{settings.ISSUER_URL}/o/token/"
ORDERS = "https://orders.example.test/"
BILLING = "https://billing.example.test/"
FORM = "application/x-www-form-urlencoded"
COMPARED_HEADERS = (
    "Content-Type",
    "Cache-Control",
    "Pragma",
    "WWW-Authenticate",
    "Retry-After",
    "DPoP-Nonce",
    "Access-Control-Allow-Origin",
)


@pytest.fixture
def clients(make_client, clock):
    """A service listing Orders (Orders caps tokens at 120 s), a short-lived one, a client
    without the grant; their secrets by client_id."""
    register_api(ORDERS, lifetime=120)
    register_api(BILLING)
    svc, svc_secret = make_client(client_id="svc", scopes=["orders:read", "orders:write"])
    allow_resources(svc, ORDERS)
    _short, short_secret = make_client(client_id="short", access_token_lifetime=90)
    _web, web_secret = make_client(
        client_id="web", grant_types=["authorization_code"], redirect_uris=["https://a.test/cb"]
    )
    _bound, bound_secret = make_client(client_id="bound", dpop_bound_access_tokens=True)
    return {"svc": svc_secret, "short": short_secret, "web": web_secret, "bound": bound_secret}


HOLDER = Holder()  # one key for the whole matrix: both paths bind to it, each proof is new


# name -> (client_id of the Basic credentials or None, form pairs or raw body, extra)
CASES: dict[str, tuple[str | None, Any, dict[str, Any]]] = {
    "good": ("svc", [("grant_type", "client_credentials")], {}),
    "good with scopes": (
        "svc",
        [("grant_type", "client_credentials"), ("scope", "orders:read orders:write")],
        {},
    ),
    "client_secret_post": (None, [("grant_type", "client_credentials")], {"post": "svc"}),
    "per-client lifetime": ("short", [("grant_type", "client_credentials")], {}),
    "resource": ("svc", [("grant_type", "client_credentials"), ("resource", ORDERS)], {}),
    "resource repeated": (
        "svc",
        [("grant_type", "client_credentials"), ("resource", ORDERS), ("resource", ORDERS)],
        {},
    ),
    "resource not listed": (
        "svc",
        [("grant_type", "client_credentials"), ("resource", BILLING)],
        {},
    ),
    "resource not a URI": (
        "svc",
        [("grant_type", "client_credentials"), ("resource", "not-a-uri")],
        {},
    ),
    "bad secret": ("svc", [("grant_type", "client_credentials")], {"secret": "wrong"}),
    "bad secret in the body": (
        None,
        [("grant_type", "client_credentials"), ("client_id", "svc"), ("client_secret", "x")],
        {},
    ),
    "unknown client": ("nobody", [("grant_type", "client_credentials")], {"secret": "x"}),
    "no authentication": (None, [("grant_type", "client_credentials")], {}),
    "client_id alone": (None, [("grant_type", "client_credentials"), ("client_id", "svc")], {}),
    "Basic not base64": (None, [("grant_type", "client_credentials")], {"auth": "Basic !!"}),
    "Basic and a body secret": (
        "svc",
        [("grant_type", "client_credentials"), ("client_secret", "x")],
        {},
    ),
    "unauthorized grant": ("web", [("grant_type", "client_credentials")], {}),
    "invalid scope": ("svc", [("grant_type", "client_credentials"), ("scope", "admin")], {}),
    "DPoP": ("svc", [("grant_type", "client_credentials")], {"dpop": True}),
    "DPoP required, none sent": ("bound", [("grant_type", "client_credentials")], {}),
    "DPoP bound": ("bound", [("grant_type", "client_credentials")], {"dpop": True}),
    "DPoP proof invalid": (
        "svc",
        [("grant_type", "client_credentials")],
        {"headers": {"HTTP_DPOP": "not.a.proof"}},
    ),
    "missing grant_type": ("svc", [("scope", "orders:read")], {}),
    "repeated scope": (
        "svc",
        [("grant_type", "client_credentials"), ("scope", "orders:read"), ("scope", "x")],
        {},
    ),
    "repeated grant_type": (
        "svc",
        [("grant_type", "client_credentials"), ("grant_type", "client_credentials")],
        {},
    ),
    "query string": ("svc", [("grant_type", "client_credentials")], {"query": "x=1"}),
    "JSON body": (
        "svc",
        '{"grant_type": "client_credentials"}',
        {"content_type": "application/json"},
    ),
    "Origin header": (
        "svc",
        [("grant_type", "client_credentials")],
        {"headers": {"HTTP_ORIGIN": "https://a.test"}},
    ),
    "GET": ("svc", [("grant_type", "client_credentials")], {"method": "get"}),
}


def send(http, clients: dict[str, str], case: str):
    client_id, form, extra = CASES[case]
    headers = dict(extra.get("headers", {}))
    if client_id is not None:
        secret = extra["secret"] if "secret" in extra else clients[client_id]
        headers["HTTP_AUTHORIZATION"] = basic_auth(client_id, secret)
    if "auth" in extra:
        headers["HTTP_AUTHORIZATION"] = extra["auth"]
    if "post" in extra:
        form = [*form, ("client_id", extra["post"]), ("client_secret", clients[extra["post"]])]
    if extra.get("dpop"):
        headers["HTTP_DPOP"] = HOLDER.proof("POST", TOKEN_URL)
    path = "/o/token/" + (f"?{extra['query']}" if "query" in extra else "")
    if extra.get("method") == "get":
        return http.get(path, dict(form), **headers)
    body = form if isinstance(form, str) else urlencode(form)
    return http.post(path, body, content_type=extra.get("content_type", FORM), **headers)


def answer(response) -> dict[str, Any]:
    """What a client sees, with what differs between two tokens left out: a token's ``jti``
    (random) and the token itself (it carries the ``jti``)."""
    seen: dict[str, Any] = {
        "status": response.status_code,
        "headers": {name: response.get(name) for name in COMPARED_HEADERS},
    }
    try:
        body = json.loads(response.content)
    except ValueError:
        body = {"raw": response.content.decode()}
    if "access_token" in body:
        token = body.pop("access_token")
        header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
        claims = jwt.decode(token, options={"verify_signature": False})
        claims.pop("jti")
        seen["token"] = (header, claims)
    seen["body"] = body
    return seen


def audit_of(since: int) -> list[tuple]:
    return [
        (e.event, e.outcome, e.actor, e.client_id, {k: v for k, v in e.data.items() if k != "jti"})
        for e in AuditEvent.objects.filter(pk__gt=since).order_by("pk")
    ]


def through(http, clients: dict[str, str], case: str) -> tuple[dict[str, Any], list[tuple]]:
    last = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    response = send(http, clients, case)
    return answer(response), audit_of(last)


def oauthlib_path(request, core):
    """The oauthlib path, as every other grant takes it: DOT's ``create_token_response``."""
    _uri, headers, body, status = core.create_token_response(request)
    return headers, body, status


@pytest.mark.parametrize("case", list(CASES))
def test_the_short_path_answers_as_oauthlib_does(client, clients, case, monkeypatch):
    short = through(client, clients, case)
    with monkeypatch.context() as patch:
        patch.setattr(client_credentials, "create_token_response", oauthlib_path)
        reference = through(client, clients, case)
    assert short == reference


def test_the_matrix_covers_every_kind_of_answer(client, clients):
    """The cases above are not all one answer: tokens, and each refusal a client can get."""
    seen = {
        (a["status"], a["body"].get("error"))
        for a, _ in (through(client, clients, c) for c in CASES)
    }
    assert seen >= {
        (200, None),
        (400, "invalid_request"),
        (401, "invalid_client"),
        (400, "unauthorized_client"),
        (400, "invalid_scope"),
        (400, "invalid_target"),
        (400, "invalid_dpop_proof"),
        (405, None),
    }


def test_a_client_credentials_request_reads_only_the_cache_counters(client, clients, settings):
    """The client row comes from the per-process cache (``oauth.selectors.client_get``), the
    token is not stored (``oauth.clienttokens``) and the audit event is stored after the
    response in a batch (``audit.batch``). What is left is the read of the cache counters
    (``core.generations``), which the tests make on every request and a server only when the
    change signal says a counter moved."""
    settings.AUDIT_BATCH_EVENTS = 100  # as shipped: deferred to the batch
    assert send(client, clients, "good").status_code == 200  # the client row is cached
    with CaptureQueriesContext(connection) as queries:
        response = send(client, clients, "resource")
    assert response.status_code == 200, response.content
    assert [q["sql"] for q in queries.captured_queries] == [
        "SELECT name, value FROM core_generation"
    ]
