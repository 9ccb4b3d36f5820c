"""A user's tokens and sessions: list, revoke, and object-level checks (OWASP API1)."""

from __future__ import annotations

from oauth2_provider.models import get_refresh_token_model

from roles.decisions import principal_for_token
from tests.api.conftest import assert_problem, refresh_status
from tests.conftest import basic_auth


def test_list_and_revoke_an_access_token(admin, token_holder, web_client):
    tokens = token_holder("pat")
    listed = admin.get("/api/v1/users/pat/tokens/").json()["results"]
    assert [t["client_id"] for t in listed] == ["webapp"]
    assert tokens["access_token"] not in str(listed)
    token_id = listed[0]["id"]
    assert admin.get(f"/api/v1/users/pat/tokens/{token_id}/").json()["id"] == token_id
    assert admin.delete(f"/api/v1/users/pat/tokens/{token_id}/").status_code == 204
    assert principal_for_token(tokens["access_token"]) is None
    assert refresh_status(admin.http, web_client, tokens["refresh_token"]) == 400
    assert admin.get("/api/v1/users/pat/tokens/").json()["results"] == []


def test_list_and_revoke_a_session(admin, token_holder, web_client):
    tokens = token_holder("quinn")
    sessions = admin.get("/api/v1/users/quinn/sessions/").json()["results"]
    assert len(sessions) == 1 and sessions[0]["client_id"] == "webapp"
    session_id = sessions[0]["id"]
    assert admin.delete(f"/api/v1/users/quinn/sessions/{session_id}/").status_code == 204
    assert refresh_status(admin.http, web_client, tokens["refresh_token"]) == 400
    assert principal_for_token(tokens["access_token"]) is None
    assert admin.get("/api/v1/users/quinn/sessions/").json()["results"] == []


def test_another_users_token_or_session_is_the_same_404_as_none(admin, token_holder):
    token_holder("rita")
    token_holder("sam")
    sam_token = admin.get("/api/v1/users/sam/tokens/").json()["results"][0]["id"]
    sam_session = admin.get("/api/v1/users/sam/sessions/").json()["results"][0]["id"]
    foreign = admin.get(f"/api/v1/users/rita/tokens/{sam_token}/")
    missing = admin.get("/api/v1/users/rita/tokens/999999999/")
    # The same answer but for the id named: nothing tells a foreign token from a missing one.
    foreign_problem = assert_problem(foreign, 404, "not-found")
    missing_problem = assert_problem(missing, 404, "not-found")
    assert foreign_problem["detail"] == f"Token '{sam_token}' not found."
    assert missing_problem["detail"] == "Token '999999999' not found."
    assert {**foreign_problem, "detail": ""} == {**missing_problem, "detail": ""}
    assert_problem(admin.delete(f"/api/v1/users/rita/tokens/{sam_token}/"), 404, "not-found")
    assert_problem(admin.delete(f"/api/v1/users/rita/sessions/{sam_session}/"), 404, "not-found")
    assert_problem(
        admin.get("/api/v1/users/rita/tokens/99999999999999999999999/"), 404, "not-found"
    )
    assert len(admin.get("/api/v1/users/sam/tokens/").json()["results"]) == 1


def test_disabling_a_user_revokes_their_tokens(admin, token_holder, web_client):
    tokens = token_holder("tess")
    assert admin.post("/api/v1/users/tess/disable/").status_code == 200
    assert principal_for_token(tokens["access_token"]) is None
    assert refresh_status(admin.http, web_client, tokens["refresh_token"]) == 400
    live = get_refresh_token_model().objects.filter(user__username="tess", revoked=None)
    assert not live.exists()


def test_token_reader_cannot_revoke(caller, token_holder):
    token_holder("uma")
    reader = caller("tokens:read")
    token_id = reader.get("/api/v1/users/uma/tokens/").json()["results"][0]["id"]
    assert_problem(reader.delete(f"/api/v1/users/uma/tokens/{token_id}/"), 403, "permission-denied")


def test_a_clients_own_tokens_list_and_revoke(admin, client, make_client, resource_server):
    from tests.conftest import introspect

    _svc, secret = make_client(client_id="svc")
    issued = client.post(
        "/o/token/",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=basic_auth("svc", secret),
    ).json()["access_token"]
    listed = admin.get("/api/v1/clients/svc/tokens/").json()["results"]
    assert [t["client_id"] for t in listed] == ["svc"] and issued not in str(listed)
    jti = listed[0]["jti"]
    assert admin.get(f"/api/v1/clients/svc/tokens/{jti}/").json()["jti"] == jti
    assert_problem(admin.get(f"/api/v1/clients/admin/tokens/{jti}/"), 404, "not-found")
    assert admin("DELETE", f"/api/v1/clients/svc/tokens/{jti}/").status_code == 204
    assert introspect(client, resource_server, issued) == {"active": False}
    assert admin.get("/api/v1/clients/svc/tokens/").json()["results"] == []
    assert_problem(admin("DELETE", f"/api/v1/clients/svc/tokens/{jti}/"), 404, "not-found")


def test_a_clients_tokens_need_the_token_permissions(caller, make_client):
    make_client(client_id="svc")
    assert_problem(
        caller("clients:read").get("/api/v1/clients/svc/tokens/"), 403, "permission-denied"
    )
