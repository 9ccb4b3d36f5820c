"""Fixtures for the directory tests: one real slapd per test session (per xdist worker),
directories configured through the same service as ``apply``, and edits of the LDAP data."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from ldap3 import MODIFY_ADD, MODIFY_DELETE, Connection, Server

from core.actors import APPLY
from directory import services
from tests.console.conftest import admin, console, grant_roles, stale  # noqa: F401  (fixtures)
from tests.directory import slapd


@pytest.fixture(scope="session")
def slapd_server(tmp_path_factory) -> Iterator[slapd.Slapd]:
    reason = slapd.missing_reason()
    if reason:
        pytest.skip(reason)
    server = slapd.start(tmp_path_factory.mktemp("slapd"))
    yield server
    server.stop()


def search_spec(server: slapd.Slapd, **overrides: Any) -> dict[str, Any]:
    """A search-mode directory over StartTLS with the test CA, mapping nothing yet."""
    spec: dict[str, Any] = {
        "name": "Example LDAP",
        "urls": [server.url],
        "start_tls": True,
        "ca_file": server.ca_file,
        "bind_mode": "search",
        "bind_dn": slapd.READER_DN,
        "bind_password": slapd.READER_PASSWORD,
        "user_base": slapd.PEOPLE,
        "user_filter": "(&(objectClass=inetOrgPerson)(uid={username}))",
        "group_base": slapd.GROUPS,
        "sync": True,
    }
    spec.update(overrides)
    return spec


@pytest.fixture
def make_directory(db, slapd_server, settings):
    settings.DIRECTORY_TIMEOUT_SECONDS = 3.0

    def make(slug: str = "corp", **overrides: Any):
        return services.directory_create(
            actor=APPLY, slug=slug, spec=search_spec(slapd_server, **overrides)
        )

    return make


@pytest.fixture
def ldap_admin(slapd_server) -> Iterator[Connection]:
    """The directory's root, to change its data as an LDAP administrator would."""
    connection = Connection(
        Server(slapd_server.url), user=slapd.ROOT_DN, password=slapd.ROOT_PASSWORD
    )
    assert connection.bind()
    yield connection
    connection.unbind()


def set_membership(root: Connection, group: str, uid: str, *, member: bool) -> None:
    change = MODIFY_ADD if member else MODIFY_DELETE
    dn = f"cn={group},{slapd.GROUPS}"
    assert root.modify(dn, {"member": [(change, [slapd.user_dn(uid)])]}), root.result
