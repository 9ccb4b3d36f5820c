"""The token endpoint's lean writes (``oauth.rotation``): what a refresh and a code exchange
store, the grace period, concurrent rotation, and the statements each costs (issue 18)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from oauth2_provider.models import AccessToken, IDToken, RefreshToken

from core.crypto import sha256_hex
from oauth.models import AuthContext
from tests.conftest import basic_auth, introspect
from tests.flows import meanwhile

pytestmark = pytest.mark.django_db

# Statements per request with the shipped settings (audit rows batched, generation counters
# read only on a change signal), transaction control (BEGIN, COMMIT) not counted. PostgreSQL:
# the refresh reads the counters the previous refresh moved, finds the token, consumes it (the
# rotated-out access token is deleted, as DOT does) and issues with the ``access-tokens`` bump
# in the same statement; the code exchange reads the code once (with its sign-in context and
# user), deletes it, issues and binds the sign-in context. SQLite (in memory here, so
# without the change signal: each request reads the counters once) runs each write on its own.
QUERIES = {
    "postgresql": {"refresh": 4, "code": 4, "client_credentials": 0, "introspection": 0},
    "sqlite": {"refresh": 10, "code": 8, "client_credentials": 1, "introspection": 1},
}
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE SAVEPOINT")


def refresh(flow, refresh_token, http=None):
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return (http or flow.browser).post(
        "/o/token/", data, HTTP_AUTHORIZATION=basic_auth("webapp", flow.secret)
    )


@pytest.fixture
def grace(settings):
    settings.OAUTH2_PROVIDER = {
        **settings.OAUTH2_PROVIDER,
        "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 60,
    }


def _row(token: str) -> RefreshToken:
    return RefreshToken.objects.filter(token_checksum=sha256_hex(token)).get()


def test_a_refresh_stores_the_rotated_pair_as_dot_does(code_flow):
    first = code_flow.tokens()
    old = _row(first["refresh_token"])
    old_access_id = old.access_token_id
    response = refresh(code_flow, first["refresh_token"])
    assert response.status_code == 200, response.content
    body = response.json()
    old.refresh_from_db()
    new = _row(body["refresh_token"])
    # the old token is revoked and its access token gone; the new pair is in the same family,
    # hashed at rest, the new access token minted from the old refresh token
    assert old.revoked is not None and old.access_token_id is None
    assert not AccessToken.objects.filter(pk=old_access_id).exists()
    assert new.revoked is None and new.token == "" and new.token_family == old.token_family
    access = new.access_token
    assert access.token == "" and access.token_checksum == sha256_hex(body["access_token"])
    assert access.source_refresh_token_id == old.pk and access.scope == body["scope"]
    assert access.id_token is not None and access.id_token.scope == body["scope"]
    context = AuthContext.objects.get(token_family=old.token_family)
    assert context.first_access_token_id is None  # it was the one rotated out


def test_a_code_exchange_binds_the_sign_in_context_and_deletes_the_code(code_flow):
    tokens = code_flow.tokens()
    access = AccessToken.objects.get(token_checksum=sha256_hex(tokens["access_token"]))
    refresh_row = _row(tokens["refresh_token"])
    context = AuthContext.objects.get(token_family=refresh_row.token_family)
    assert context.first_access_token_id == access.pk and context.grant_id is None
    assert context.code_hash and refresh_row.access_token_id == access.pk
    assert IDToken.objects.filter(pk=access.id_token_id, user=code_flow.browser.user).exists()


def test_a_retry_within_the_grace_period_replaces_the_pair_it_was_issued(
    code_flow, grace, client, resource_server
):
    r1 = code_flow.tokens()["refresh_token"]
    lost = refresh(code_flow, r1).json()  # the answer the client never received
    retry = refresh(code_flow, r1)
    assert retry.status_code == 200, retry.content
    again = refresh(code_flow, r1)  # still the immediate predecessor: retried again
    assert again.status_code == 200, again.content
    current = again.json()
    # the replaced pairs are dead, the family lives on in the last one
    assert not introspect(client, resource_server, lost["access_token"])["active"]
    assert not introspect(client, resource_server, retry.json()["access_token"])["active"]
    assert introspect(client, resource_server, current["access_token"])["active"]
    assert refresh(code_flow, current["refresh_token"]).status_code == 200


def test_within_the_grace_period_an_older_token_is_still_reuse(
    code_flow, grace, client, resource_server
):
    r1 = code_flow.tokens()["refresh_token"]
    r2 = refresh(code_flow, r1).json()["refresh_token"]
    r3 = refresh(code_flow, r2).json()  # r2 was used: r1 is no longer the predecessor
    replay = refresh(code_flow, r1)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert refresh(code_flow, r3["refresh_token"]).json()["error"] == "invalid_grant"
    assert introspect(client, resource_server, r3["access_token"]) == {"active": False}


def test_the_grace_period_ends(code_flow, grace):
    r1 = code_flow.tokens()["refresh_token"]
    r2 = refresh(code_flow, r1).json()["refresh_token"]
    RefreshToken.objects.filter(token_checksum=sha256_hex(r1)).update(
        revoked=timezone.now() - timedelta(seconds=61)
    )
    assert refresh(code_flow, r1).json()["error"] == "invalid_grant"
    assert refresh(code_flow, r2).json()["error"] == "invalid_grant"  # the family is revoked


def test_a_revoked_token_is_not_retried_within_the_grace_period(code_flow, grace):
    tokens = code_flow.tokens()
    revoked = code_flow.browser.post(
        "/o/revoke_token/",
        {"token": tokens["refresh_token"]},
        HTTP_AUTHORIZATION=basic_auth("webapp", code_flow.secret),
    )
    assert revoked.status_code == 200
    assert refresh(code_flow, tokens["refresh_token"]).json()["error"] == "invalid_grant"


def test_the_idle_lifetime_ends_a_refresh_token(code_flow, settings):
    tokens = code_flow.tokens()
    AccessToken.objects.filter(token_checksum=sha256_hex(tokens["access_token"])).update(
        expires=timezone.now() - timedelta(seconds=settings.REFRESH_TOKEN_IDLE_LIFETIME + 1)
    )
    response = refresh(code_flow, tokens["refresh_token"])
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
    assert _row(tokens["refresh_token"]).revoked is None  # refused, not consumed


@pytest.fixture
def shipped_batching(settings):
    """The shipped audit batching and change signal (the tests' preset stores each audit row
    at once and reads the counters on every request)."""
    settings.AUDIT_BATCH_EVENTS = 100
    settings.GENERATIONS_SIGNAL = "auto"


def _statements(call) -> tuple[object, int]:
    call()  # warm: caches filled, the listening connection open
    with CaptureQueriesContext(connection) as captured:
        response = call()
    assert response.status_code == 200, response.content
    statements = [
        q["sql"] for q in captured.captured_queries if not q["sql"].startswith(TRANSACTION_CONTROL)
    ]
    return response, len(statements)


@pytest.mark.django_db(transaction=True)
def test_the_rotated_out_access_token_is_inactive_at_once(
    code_flow, client, resource_server, shipped_batching
):
    """Its row, cached by the introspection before, is forgotten: the refresh advances the
    ``access-tokens`` counter (on PostgreSQL in the statement that stores the new tokens)."""
    tokens = code_flow.tokens()
    assert introspect(client, resource_server, tokens["access_token"])["active"]
    response = refresh(code_flow, tokens["refresh_token"])
    assert response.status_code == 200, response.content
    assert introspect(client, resource_server, tokens["access_token"]) == {"active": False}
    assert introspect(client, resource_server, response.json()["access_token"])["active"]


@pytest.mark.django_db(transaction=True)
def test_statements_per_request_of_the_hot_paths(
    code_flow, client, make_client, resource_server, shipped_batching
):
    expected = QUERIES[connection.vendor]
    pending = [code_flow.code() for _ in range(2)]
    _, code = _statements(lambda: code_flow.exchange(*pending.pop()))
    tokens = [code_flow.tokens()["refresh_token"]]

    def rotate():
        response = refresh(code_flow, tokens[-1])
        tokens.append(response.json().get("refresh_token"))
        return response

    _, rotation = _statements(rotate)
    _, secret = make_client(client_id="svc", scopes=["orders:read"])
    cc = {"grant_type": "client_credentials", "scope": "orders:read"}
    response, credentials = _statements(
        lambda: client.post("/o/token/", cc, HTTP_AUTHORIZATION=basic_auth("svc", secret))
    )
    access_token = response.json()["access_token"]

    class Answer:  # introspect() asserts the status itself
        status_code = 200

    def introspection():
        assert introspect(client, resource_server, access_token)["active"]
        return Answer

    _, introspected = _statements(introspection)
    assert {
        "refresh": rotation,
        "code": code,
        "client_credentials": credentials,
        "introspection": introspected,
    } == expected


@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_of_one_token_rotate_it_once(code_flow):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: two connections writing at once")
    token = code_flow.tokens()["refresh_token"]
    barrier = threading.Barrier(2)
    answers = []

    def racer():
        try:
            http = HttpClient()
            barrier.wait()
            answers.append(refresh(code_flow, token, http))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=racer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(a.status_code for a in answers) == [200, 400]
    winner = next(a.json() for a in answers if a.status_code == 200)
    loser = next(a.json() for a in answers if a.status_code == 400)
    assert loser["error"] == "invalid_grant"
    # the loser presented a rotated-out token: reuse, so the winner's family is revoked too
    assert refresh(code_flow, winner["refresh_token"]).json()["error"] == "invalid_grant"
    assert (
        RefreshToken.objects.filter(token_family=_row(token).token_family)
        .filter(revoked__isnull=True)
        .count()
        == 0
    )


@pytest.mark.django_db(transaction=True)
def test_a_refresh_does_not_wait_for_another_writers_commit(
    code_flow, shipped_batching, monkeypatch
):
    """Every write that removes an access token advances the ``access-tokens`` counter and
    holds that row until it commits; on PostgreSQL the counter is sharded, so a refresh goes
    past a transaction that is still open with its advance (with one row, each refresh
    queued behind the previous one's commit)."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's row locks (SQLite has one writer at a time)")
    from types import SimpleNamespace

    from core import generations

    tokens = code_flow.tokens()
    before = generations._read().get("access-tokens", 0)
    advanced, release = threading.Event(), threading.Event()

    def holder():
        try:
            with transaction.atomic():
                generations.bump("access-tokens")
                advanced.set()
                release.wait(10)
        finally:
            connections.close_all()

    thread = threading.Thread(target=holder)
    shard = SimpleNamespace(randbelow=lambda n: 0 if threading.current_thread() is thread else 1)
    monkeypatch.setattr(generations, "secrets", shard)  # the two writers' shards differ
    thread.start()
    try:
        assert advanced.wait(10)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '3s'")  # a wait for the holder fails the refresh
        response = refresh(code_flow, tokens["refresh_token"])
        assert response.status_code == 200, response.content
        assert thread.is_alive()  # the holder's transaction is still open
    finally:
        release.set()
        thread.join()
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
    assert generations._read()["access-tokens"] == before + 2  # the shards, summed


def test_a_dependent_the_sql_cannot_follow_leaves_the_delete_to_the_orm(code_flow, monkeypatch):
    from oauth import rotation

    monkeypatch.setattr(rotation, "_dependents", lambda model, skip=None: None)
    tokens = code_flow.tokens()  # the code is deleted through the collector too
    old_access = AccessToken.objects.get(token_checksum=sha256_hex(tokens["access_token"]))
    response = refresh(code_flow, tokens["refresh_token"])
    assert response.status_code == 200, response.content
    assert not AccessToken.objects.filter(pk=old_access.pk).exists()
    assert _row(tokens["refresh_token"]).revoked is not None
    assert refresh(code_flow, response.json()["refresh_token"]).status_code == 200


def test_a_refresh_token_another_request_rotates_meanwhile_is_reuse(
    code_flow, client, resource_server, monkeypatch
):
    token = code_flow.tokens()["refresh_token"]
    first_use = meanwhile(monkeypatch, lambda: refresh(code_flow, token, HttpClient()))
    late = refresh(code_flow, token)
    assert late.status_code == 400 and late.json()["error"] == "invalid_grant"
    first = first_use[0]
    assert first.status_code == 200, first.content
    # two uses of one refresh token: the one that won loses its tokens too (the family)
    assert not introspect(client, resource_server, first.json()["access_token"])["active"]
    assert refresh(code_flow, first.json()["refresh_token"]).json()["error"] == "invalid_grant"
    assert not RefreshToken.objects.filter(
        token_family=_row(token).token_family, revoked__isnull=True
    ).exists()


def test_a_code_another_request_redeems_meanwhile_is_a_replay(
    code_flow, client, resource_server, monkeypatch
):
    code, verifier = code_flow.code()
    first_use = meanwhile(monkeypatch, lambda: code_flow.exchange(code, verifier))
    late = code_flow.exchange(code, verifier)
    assert late.status_code == 400 and late.json()["error"] == "invalid_grant"
    first = first_use[0]
    assert first.status_code == 200, first.content
    # RFC 6749 §4.1.2: the tokens the code gave are revoked, and the late one stored nothing
    assert not introspect(client, resource_server, first.json()["access_token"])["active"]
    assert refresh(code_flow, first.json()["refresh_token"]).json()["error"] == "invalid_grant"
    assert AccessToken.objects.count() == 0
