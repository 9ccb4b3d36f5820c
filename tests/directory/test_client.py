"""The LDAP client against a real slapd: TLS is verified (StartTLS and ldaps://), an empty
password never binds, an ambiguous filter signs nobody in, the connection test says why."""

from __future__ import annotations

import pytest

from directory import client
from directory.models import Directory
from directory.services import assign_spec
from tests.directory import slapd
from tests.directory.conftest import search_spec
from tests.directory.slapd import make_tls

pytestmark = pytest.mark.live


def directory_of(server: slapd.Slapd, **overrides) -> Directory:
    """An unsaved directory (the client reads nothing else from the database)."""
    directory = Directory(slug="corp")
    assign_spec(directory, search_spec(server, **overrides))
    return directory


def test_ldaps_and_starttls_both_verify_the_server(slapd_server):
    for overrides in ({}, {"urls": [slapd_server.ldaps_url], "start_tls": False}):
        entry = client.authenticate(
            directory_of(slapd_server, **overrides), "alice", slapd.PASSWORDS["alice"]
        )
        assert entry is not None and entry.username == "alice"
        assert {"platform-admins", "staff"} <= entry.groups


def test_a_server_certificate_from_another_ca_is_refused(slapd_server, tmp_path):
    other_ca, _, _ = make_tls(tmp_path)
    directory = directory_of(slapd_server, ca_file=str(other_ca))
    with pytest.raises(client.Unreachable, match="certificate"):
        client.authenticate(directory, "alice", slapd.PASSWORDS["alice"])


def test_an_empty_password_never_binds(slapd_server):
    """RFC 4513 §5.1.2: a DN with no password is an anonymous bind, which succeeds."""
    for mode in (
        {},
        {"bind_mode": "direct", "user_dn_template": f"uid={{username}},{slapd.PEOPLE}"},
    ):
        assert client.authenticate(directory_of(slapd_server, **mode), "alice", "") is None


def test_a_filter_matching_several_entries_signs_nobody_in(slapd_server):
    directory = directory_of(
        slapd_server, user_filter="(|(uid={username})(objectClass=inetOrgPerson))"
    )
    assert client.authenticate(directory, "alice", slapd.PASSWORDS["alice"]) is None


def test_a_wrong_service_password_is_unreachable_not_a_wrong_user_password(slapd_server):
    directory = directory_of(slapd_server, bind_password="not-the-reader-password")
    with pytest.raises(client.Unreachable, match="service account"):
        client.authenticate(directory, "alice", slapd.PASSWORDS["alice"])


def test_the_connection_test_counts_the_users_the_filter_finds(slapd_server):
    assert client.probe(directory_of(slapd_server)) == (
        "connected and bound; the user filter finds 5 entries"
    )
