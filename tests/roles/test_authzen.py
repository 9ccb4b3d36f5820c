"""AuthZEN Authorization API 1.0 over HTTP, called the way a resource server calls it."""

from __future__ import annotations

import base64
import json

import pytest

from accounts import services as account_services
from accounts.models import User
from core.actors import APPLY
from oauth.models import Client
from roles import services
from roles.models import Role
from roles.services import AssignmentSpec
from tests.conftest import basic_auth
from tests.roles.conftest import client_credentials_token, post_json, user_tokens

EVALUATION = "/access/v1/evaluation"
EVALUATIONS = "/access/v1/evaluations"


@pytest.fixture
def catalogue(make_role, make_user, make_client):
    make_role("reader", permissions=["orders:read", "GET /api/orders/**"])
    make_role("editor", parents=["reader"], permissions=["POST /api/orders", "PUT /api/orders/*"])
    make_role("admin", parents=["editor"], permissions=["* /api/admin/**"])
    alice = make_user("alice")
    services.user_roles_set(user=alice, assignments=[AssignmentSpec("reader")])
    root = make_user("root")
    services.user_roles_set(user=root, assignments=[AssignmentSpec("admin")])
    svc, secret = make_client(client_id="svc")
    services.client_roles_set(client=svc, assignments=[AssignmentSpec("editor")])
    return {"svc_secret": secret}


@pytest.fixture
def ask(client, pdp_caller):
    """POST an evaluation as the gateway client (HTTP Basic)."""
    gateway, secret = pdp_caller

    def call(body, path: str = EVALUATION, **headers):
        headers.setdefault("HTTP_AUTHORIZATION", basic_auth(gateway.client_id, secret))
        return post_json(client, path, body, **headers)

    return call


def request_for(subject: dict, method: str, path: str) -> dict:
    return {
        "subject": subject,
        "action": {"name": method},
        "resource": {"type": "route", "id": path},
    }


def decision(response) -> bool:
    assert response.status_code == 200, response.content
    return response.json()["decision"]


ALICE = {"type": "user", "id": "alice"}


# --- decisions ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/api/orders/42", True),
        ("GET", "/api/orders/42/?x=1", True),
        ("get", "/api/orders/42", False),
        ("POST", "/api/orders", False),
        ("GET", "/api/orders/../admin/users", False),
        ("GET", "/api/orders%2F..%2Fadmin", False),
        ("GET", "/api/admin/users", False),  # BOLA/BFLA: a reader on admin routes
        ("DELETE", "/api/admin/users/1", False),
    ],
)
def test_user_subject_routes(ask, catalogue, method, path, expected) -> None:
    assert decision(ask(request_for(ALICE, method, path))) is expected


def test_admin_reaches_admin_routes(ask, catalogue) -> None:
    root = {"type": "user", "id": "root"}
    assert decision(ask(request_for(root, "DELETE", "/api/admin/users/1")))
    assert decision(ask(request_for(root, "GET", "/api/orders/1")))  # inherited


def test_named_permission_matches_whatever_the_resource(ask, catalogue) -> None:
    body = {
        "subject": ALICE,
        "action": {"name": "orders:read"},
        "resource": {"type": "order", "id": "42"},
    }
    assert decision(ask(body)) is True
    body["action"]["name"] = "orders:write"
    assert decision(ask(body)) is False


def test_client_subject(ask, catalogue) -> None:
    svc = {"type": "client", "id": "svc"}
    assert decision(ask(request_for(svc, "PUT", "/api/orders/7")))
    assert not decision(ask(request_for(svc, "PUT", "/api/admin/x")))


def test_token_subjects(client, ask, catalogue, web_client) -> None:
    cc = client_credentials_token(client, "svc", catalogue["svc_secret"])
    assert decision(ask(request_for({"type": "token", "id": cc}, "POST", "/api/orders")))
    access = user_tokens(client, web_client, "alice")["access_token"]
    token = {"type": "token", "id": access}
    assert decision(ask(request_for(token, "GET", "/api/orders/1")))
    assert not decision(ask(request_for(token, "POST", "/api/orders")))
    assert not decision(ask(request_for(token, "DELETE", "/api/admin/users/1")))  # BFLA


ORDERS = "https://orders.example.test/"


@pytest.fixture
def orders_pdp_caller(make_client, make_api, pdp_caller):
    """The Orders API's client, allowed to ask for decisions: (client, secret)."""
    rs, secret = make_client(client_id="orders-rs")
    services.client_roles_set(client=rs, assignments=[AssignmentSpec("pdp-caller")])
    make_api(ORDERS, client=rs, name="Orders API")
    return rs, secret


def test_a_token_subject_meant_for_another_api_is_a_deny(
    client, ask, catalogue, orders_pdp_caller
) -> None:
    """The gateway (another API's client) asks about a token issued for the Orders API."""
    svc = Client.objects.get(client_id="svc")
    svc.resources = [ORDERS]
    svc.save()
    response = client.post(
        "/o/token/",
        {"grant_type": "client_credentials", "resource": ORDERS},
        HTTP_AUTHORIZATION=basic_auth("svc", catalogue["svc_secret"]),
    )
    body = request_for(
        {"type": "token", "id": response.json()["access_token"]}, "POST", "/api/orders"
    )
    assert not decision(ask(body))
    rs, secret = orders_pdp_caller
    assert decision(ask(body, HTTP_AUTHORIZATION=basic_auth(rs.client_id, secret)))


def test_a_caller_that_is_no_apis_client_learns_nothing_of_a_token(
    client, catalogue, pdp_caller, make_client, web_client
) -> None:
    """Holding authz:evaluate is not enough: a client that fronts no registered API (and is not
    the token's own) cannot learn what another app's user token may do."""
    stranger, secret = make_client(client_id="stranger")
    services.client_roles_set(client=stranger, assignments=[AssignmentSpec("pdp-caller")])
    access = user_tokens(client, web_client, "alice")["access_token"]
    body = request_for({"type": "token", "id": access}, "GET", "/api/orders/1")
    auth = basic_auth("stranger", secret)
    assert not decision(post_json(client, EVALUATION, body, HTTP_AUTHORIZATION=auth))
    assert decision(
        post_json(
            client, EVALUATION, request_for(ALICE, "GET", "/api/orders/1"), HTTP_AUTHORIZATION=auth
        )
    )


@pytest.mark.parametrize(
    "subject",
    [
        {"type": "user", "id": "nobody"},
        {"type": "client", "id": "nobody"},
        {"type": "token", "id": "not-a-token"},
        {"type": "token", "id": "a.b.c"},
        {"type": "group", "id": "admins"},
    ],
)
def test_unknown_subjects_are_a_plain_deny(ask, catalogue, subject) -> None:
    response = ask(request_for(subject, "GET", "/api/orders/1"))
    assert response.json() == {"decision": False}


def test_a_deactivated_user_and_their_tokens_are_denied(client, ask, catalogue, web_client):
    access = user_tokens(client, web_client, "alice")["access_token"]
    token = {"type": "token", "id": access}
    assert decision(ask(request_for(token, "GET", "/api/orders/1")))
    account_services.user_update(
        actor=APPLY, user=User.objects.get(username="alice"), is_active=False
    )
    assert not decision(ask(request_for(ALICE, "GET", "/api/orders/1")))
    assert not decision(ask(request_for(token, "GET", "/api/orders/1")))


def test_a_revoked_token_is_denied(client, ask, catalogue) -> None:
    cc = client_credentials_token(client, "svc", catalogue["svc_secret"])
    body = request_for({"type": "token", "id": cc}, "POST", "/api/orders")
    assert decision(ask(body))
    response = client.post(
        "/o/revoke_token/",
        {"token": cc},
        HTTP_AUTHORIZATION=basic_auth("svc", catalogue["svc_secret"]),
    )
    assert response.status_code == 200
    assert not decision(ask(body))


def test_a_role_change_is_seen_by_the_next_request(ask, catalogue) -> None:
    body = request_for(ALICE, "POST", "/api/orders")
    assert not decision(ask(body))
    alice = User.objects.get(username="alice")
    services.user_roles_set(user=alice, assignments=[AssignmentSpec("editor")])
    assert decision(ask(body))
    services.role_update(actor=APPLY, role=Role.objects.get(name="editor"), permissions=[])
    assert not decision(ask(body))


# --- batch ------------------------------------------------------------------------------------


def batch(semantic: str | None = None) -> dict:
    body = {
        "subject": ALICE,
        "action": {"name": "GET"},
        "evaluations": [
            {"resource": {"type": "route", "id": "/api/orders/1"}},
            {"resource": {"type": "route", "id": "/api/admin"}},
            {"action": {"name": "orders:read"}, "resource": {"type": "order", "id": "1"}},
            {
                "subject": {"type": "user", "id": "root"},
                "resource": {"type": "route", "id": "/api/admin/x"},
            },
        ],
    }
    if semantic:
        body["options"] = {"evaluations_semantic": semantic}
    return body


def decisions_of(response) -> list[bool]:
    assert response.status_code == 200, response.content
    return [item["decision"] for item in response.json()["evaluations"]]


def test_batch_execute_all_is_the_default(ask, catalogue) -> None:
    assert decisions_of(ask(batch(), EVALUATIONS)) == [True, False, True, True]
    assert decisions_of(ask(batch("execute_all"), EVALUATIONS)) == [True, False, True, True]


def test_batch_deny_on_first_deny(ask, catalogue) -> None:
    assert decisions_of(ask(batch("deny_on_first_deny"), EVALUATIONS)) == [True, False]


def test_batch_permit_on_first_permit(ask, catalogue) -> None:
    body = batch("permit_on_first_permit")
    body["evaluations"].insert(0, {"resource": {"type": "route", "id": "/api/admin/1"}})
    assert decisions_of(ask(body, EVALUATIONS)) == [False, True]


def test_batch_without_items_is_a_single_evaluation(ask, catalogue) -> None:
    body = request_for(ALICE, "GET", "/api/orders/1")
    assert ask(body, EVALUATIONS).json() == {"decision": True}
    assert ask({**body, "evaluations": []}, EVALUATIONS).json() == {"decision": True}


def test_an_incomplete_batch_item_is_denied_in_place(ask, catalogue) -> None:
    body = {"subject": ALICE, "evaluations": [{"action": {"name": "orders:read"}}]}
    body["evaluations"].append(
        {"action": {"name": "orders:read"}, "resource": {"type": "order", "id": "1"}}
    )
    response = ask(body, EVALUATIONS)
    first, second = response.json()["evaluations"]
    assert first["decision"] is False
    assert first["context"]["error"]["status"] == 400
    assert "resource" in first["context"]["error"]["message"]
    assert second == {"decision": True}


# --- callers ----------------------------------------------------------------------------------


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        basic_auth("gateway", "wrong secret"),
        basic_auth("nobody", "secret"),
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Bearer not-a-token",
        "Bearer ",
        "Digest abc",
    ],
)
def test_unauthenticated_callers_get_401(client, catalogue, pdp_caller, authorization) -> None:
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    response = post_json(client, EVALUATION, request_for(ALICE, "GET", "/"), **headers)
    assert_problem(response, 401)
    assert "Basic" in response["WWW-Authenticate"]


def test_a_client_without_authz_evaluate_gets_403(client, catalogue) -> None:
    """BFLA: a client holding other roles (even editor) cannot use the decision endpoint."""
    response = post_json(
        client,
        EVALUATION,
        request_for(ALICE, "GET", "/api/orders/1"),
        HTTP_AUTHORIZATION=basic_auth("svc", catalogue["svc_secret"]),
    )
    assert_problem(response, 403)
    response = post_json(
        client,
        EVALUATIONS,
        batch(),
        HTTP_AUTHORIZATION=basic_auth("svc", catalogue["svc_secret"]),
    )
    assert_problem(response, 403)


def test_a_client_credentials_bearer_token_authenticates(client, catalogue, pdp_caller) -> None:
    gateway, secret = pdp_caller
    bearer = client_credentials_token(client, gateway.client_id, secret)
    response = post_json(
        client,
        EVALUATION,
        request_for(ALICE, "GET", "/api/orders/1"),
        HTTP_AUTHORIZATION=f"Bearer {bearer}",
    )
    assert decision(response) is True


def test_a_user_bearer_token_is_not_a_caller(client, catalogue, pdp_caller, web_client) -> None:
    access = user_tokens(client, web_client, "root")["access_token"]
    response = post_json(
        client, EVALUATION, request_for(ALICE, "GET", "/"), HTTP_AUTHORIZATION=f"Bearer {access}"
    )
    assert_problem(response, 401)


def test_losing_authz_evaluate_takes_effect_at_once(ask, catalogue) -> None:
    assert ask(request_for(ALICE, "GET", "/")).status_code == 200
    services.role_update(actor=APPLY, role=Role.objects.get(name="pdp-caller"), permissions=[])
    assert_problem(ask(request_for(ALICE, "GET", "/")), 403)


# --- malformed bodies -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        [],
        "text",
        {},
        {"subject": ALICE, "action": {"name": "GET"}},
        {"subject": ALICE, "action": {"name": ""}, "resource": {"type": "route", "id": "/"}},
        {
            "subject": {"type": "user"},
            "action": {"name": "GET"},
            "resource": {"type": "route", "id": "/"},
        },
        {"subject": ALICE, "action": {"name": 7}, "resource": {"type": "route", "id": "/"}},
        {"subject": ALICE, "action": "GET", "resource": {"type": "route", "id": "/"}},
        {**request_for(ALICE, "GET", "/"), "context": []},
        {**request_for(ALICE, "GET", "/"), "subject": {**ALICE, "properties": 1}},
    ],
)
def test_malformed_evaluations_get_400(ask, catalogue, body) -> None:
    assert_problem(ask(body), 400)


@pytest.mark.parametrize(
    "body",
    [
        {"evaluations": {}},
        {"evaluations": [1]},
        {"evaluations": [{}], "options": []},
        {"evaluations": [{}], "options": {"evaluations_semantic": "first_one_wins"}},
        {"evaluations": [{"subject": ALICE}] * 201},
    ],
)
def test_malformed_batches_get_400(ask, catalogue, body) -> None:
    assert_problem(ask(body, EVALUATIONS), 400)


def test_non_json_bodies(client, catalogue, pdp_caller) -> None:
    gateway, secret = pdp_caller
    auth = basic_auth(gateway.client_id, secret)
    bad = client.post(
        EVALUATION, "{not json", content_type="application/json", HTTP_AUTHORIZATION=auth
    )
    assert_problem(bad, 400)
    deep = client.post(
        EVALUATION, "[" * 100_000, content_type="application/json", HTTP_AUTHORIZATION=auth
    )
    assert_problem(deep, 400)
    form = client.post(EVALUATION, {"subject": "x"}, HTTP_AUTHORIZATION=auth)
    assert_problem(form, 415)
    big = client.post(
        EVALUATION,
        "[" + "1," * 600_000 + "1]",
        content_type="application/json",
        HTTP_AUTHORIZATION=auth,
    )
    assert_problem(big, 413)
    assert_problem(client.get(EVALUATION, HTTP_AUTHORIZATION=auth), 405)


def body_with_context_depth(levels: int) -> str:
    """An evaluation whose ``context`` nests ``levels`` objects (the body one more)."""
    request = json.dumps(request_for(ALICE, "GET", "/"))[:-1]
    return request + ', "context": ' + '{"a": ' * (levels - 1) + "{}" + "}" * (levels - 1) + "}"


@pytest.mark.parametrize("levels", [64, 5_000])
def test_json_nested_too_deep_is_a_400(client, catalogue, pdp_caller, levels) -> None:
    """At most 64 levels: a body nested deeper is refused before anything walks it."""
    gateway, secret = pdp_caller
    response = client.post(
        EVALUATION,
        body_with_context_depth(levels),
        content_type="application/json",
        HTTP_AUTHORIZATION=basic_auth(gateway.client_id, secret),
    )
    assert "nested deeper than 64" in assert_problem(response, 400)["detail"]
    shallow = client.post(
        EVALUATION,
        body_with_context_depth(63),
        content_type="application/json",
        HTTP_AUTHORIZATION=basic_auth(gateway.client_id, secret),
    )
    assert decision(shallow) is False  # alice may not GET / : evaluated, not refused


# --- protocol details -------------------------------------------------------------------------


def test_request_id_is_echoed(ask, catalogue) -> None:
    response = ask(request_for(ALICE, "GET", "/"), HTTP_X_REQUEST_ID="req-123")
    assert response["X-Request-ID"] == "req-123"
    response = ask({}, HTTP_X_REQUEST_ID="req-456")
    assert response.status_code == 400 and response["X-Request-ID"] == "req-456"
    generated = ask(request_for(ALICE, "GET", "/"))["X-Request-ID"]  # none sent: one is made
    assert generated and generated not in {"req-123", "req-456"}


def test_no_csrf_or_session_needed(catalogue, pdp_caller) -> None:
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    gateway, secret = pdp_caller
    response = post_json(
        strict,
        EVALUATION,
        request_for(ALICE, "GET", "/api/orders/1"),
        HTTP_AUTHORIZATION=basic_auth(gateway.client_id, secret),
    )
    assert decision(response) is True
    assert "Set-Cookie" not in response


def test_authzen_configuration(client, settings) -> None:
    response = client.get("/.well-known/authzen-configuration")
    assert response.status_code == 200
    base = settings.ISSUER_URL
    assert response.json() == {
        "policy_decision_point": base,
        "access_evaluation_endpoint": f"{base}/access/v1/evaluation",
        "access_evaluations_endpoint": f"{base}/access/v1/evaluations",
    }


def test_the_view_needs_no_middleware(catalogue, pdp_caller) -> None:
    """Machine endpoints run without session, CSRF or auth middleware (authserver/wsgi.py)."""
    from django.test import RequestFactory

    from roles import views

    gateway, secret = pdp_caller
    request = RequestFactory().post(
        EVALUATION,
        json.dumps(request_for(ALICE, "GET", "/api/orders/1")),
        content_type="application/json",
        HTTP_AUTHORIZATION=basic_auth(gateway.client_id, secret),
    )
    assert json.loads(views.evaluation(request).content) == {"decision": True}


def test_made_up_kids_cause_at_most_one_key_reload(ask, catalogue, monkeypatch) -> None:
    """200 token subjects naming unknown ``kid``s: all denied, and our signing keys are
    reloaded once (each made-up kid used to force a reload: 1.75 s per request)."""
    import time

    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec

    from oauth import keys

    assert decision(ask(request_for(ALICE, "GET", "/api/orders/1")))  # a warm server
    keys.jwks()  # with its keys loaded
    loads = []
    load_published = keys._load_published
    monkeypatch.setattr(keys, "_load_published", lambda *a: loads.append(1) or load_published(*a))
    stranger = ec.generate_private_key(ec.SECP256R1())
    now = int(time.time())
    claims = {"gty": "client_credentials", "client_id": "svc", "sub": "svc", "exp": now + 60}
    forged = [
        jwt.encode(
            {**claims, "jti": str(i)},
            stranger,
            "ES256",
            headers={"kid": f"made-up-{i}", "typ": "at+jwt"},
        )
        for i in range(200)
    ]
    body = {
        "action": {"name": "POST"},
        "resource": {"type": "route", "id": "/api/orders"},
        "evaluations": [{"subject": {"type": "token", "id": token}} for token in forged],
    }
    assert decisions_of(ask(body, EVALUATIONS)) == [False] * 200
    assert len(loads) <= 1
