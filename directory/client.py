"""Talking to an LDAP server (``ldap3``, pure Python): bind, find the user, read the groups.

Every value typed by a person goes into a filter through ``escape_filter_chars`` and into a DN
through ``escape_rdn`` (RFC 4515 / RFC 4514), so ``*)(uid=*`` is a name, not a filter. An empty
password is refused before any bind: LDAP treats a simple bind with a DN and no password as an
anonymous ("unauthenticated") bind, which succeeds (RFC 4513 §5.1.2). Each server URL gets
``DIRECTORY_TIMEOUT_SECONDS`` to connect and for each answer; a server that cannot be reached
(refused, timed out, TLS failure, the service account refused) is ``Unreachable``, tried the
next URL, and never a wrong password.
"""

from __future__ import annotations

import logging
import math
import ssl
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ldap3 import BASE, NONE, SUBTREE, Connection, Server, Tls
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import escape_rdn

from core import crypto
from directory.conf import settings
from directory.models import Directory

log = logging.getLogger(__name__)

MAX_USERNAME = 150
PAGE_SIZE = 500


class Unreachable(Exception):
    """The directory could not be asked (every URL failed); the message says why, for logs and
    the console's connection test, never for the sign-in page."""


@dataclass(frozen=True)
class Entry:
    """A user's entry as the directory returned it."""

    dn: str
    entry_id: str
    username: str
    email: str
    name: str
    groups: frozenset[str]  # the groups' names and DNs, lower-cased


def user_filter(directory: Directory, username: str) -> str:
    return directory.user_filter.replace("{username}", escape_filter_chars(username))


def user_dn(directory: Directory, username: str) -> str:
    return directory.user_dn_template.replace("{username}", escape_rdn(username))


def _tls(directory: Directory) -> Tls:
    return Tls(
        validate=ssl.CERT_REQUIRED,
        version=ssl.PROTOCOL_TLS_CLIENT,
        ca_certs_file=directory.ca_file or None,
    )


def _open(directory: Directory, url: str, user: str | None, password: str | None) -> Connection:
    timeout = settings.DIRECTORY_TIMEOUT_SECONDS
    server = Server(url, get_info=NONE, connect_timeout=timeout, tls=_tls(directory))
    connection = Connection(
        server,
        user=user,
        password=password,
        receive_timeout=max(1, math.ceil(timeout)),  # ldap3 packs it as whole seconds
        read_only=True,
        raise_exceptions=False,
        auto_referrals=False,
    )
    connection.open()
    if directory.start_tls and not url.lower().startswith("ldaps://"):
        connection.start_tls()
    return connection


@contextmanager
def connect(
    directory: Directory, user: str | None = None, password: str | None = None
) -> Iterator[Connection | None]:
    """A connection bound as ``user`` (anonymous without), or None when the directory refused
    the credentials. Raises ``Unreachable`` when no URL answered."""
    problems = []
    for url in directory.urls:
        try:
            connection = _open(directory, url, user, password)
        except (LDAPException, OSError) as exc:
            problems.append(f"{url}: {exc}")
            continue
        try:
            bound = connection.bind()
        except (LDAPException, OSError) as exc:
            connection.unbind()
            problems.append(f"{url}: {exc}")
            continue
        if not bound and connection.result.get("result") != 49:  # 49: invalidCredentials
            connection.unbind()
            problems.append(f"{url}: bind: {connection.result.get('description')}")
            continue
        try:
            yield connection if bound else None
        finally:
            connection.unbind()
        return
    raise Unreachable("; ".join(problems) or "no server URL configured")


@contextmanager
def service_connection(directory: Directory) -> Iterator[Connection]:
    """Bound as the service account (anonymous when there is none); its refusal is a
    misconfiguration, so ``Unreachable`` too."""
    password = (
        crypto.decrypt(directory.bind_password_encrypted).decode()
        if directory.bind_password_encrypted
        else None
    )
    with connect(directory, directory.bind_dn or None, password) as connection:
        if connection is None:
            raise Unreachable("the directory refused the service account's bind")
        yield connection


def _first(attributes: dict, name: str) -> str:
    if not name:
        return ""
    value = attributes.get(name)
    if isinstance(value, list):
        value = value[0] if value else ""
    if isinstance(value, bytes):  # objectGUID: 16 bytes, little-endian (MS-DTYP 2.3.4)
        return str(uuid.UUID(bytes_le=value)) if len(value) == 16 else value.hex()
    return str(value or "")


def _attributes(directory: Directory) -> list[str]:
    names = [
        directory.username_attribute,
        directory.email_attribute,
        directory.name_attribute,
        directory.uuid_attribute,
    ]
    return sorted({n for n in names if n})


def _check(connection: Connection, ok: bool) -> None:
    """A search that failed for another reason than "no such object" is the directory's
    failure, not an answer."""
    if not ok and connection.result.get("result") not in (0, 32):  # 32: noSuchObject
        raise Unreachable(f"search: {connection.result.get('description')}")


def _entry(directory: Directory, dn: str, attributes: dict, groups: frozenset[str]) -> Entry:
    return Entry(
        dn=dn,
        entry_id=_first(attributes, directory.uuid_attribute) or dn.lower(),
        username=_first(attributes, directory.username_attribute),
        email=_first(attributes, directory.email_attribute),
        name=_first(attributes, directory.name_attribute),
        groups=groups,
    )


def _results(connection: Connection) -> list[dict]:
    return [r for r in connection.response or [] if r.get("type") == "searchResEntry"]


def _groups(directory: Directory, connection: Connection, dn: str, username: str) -> frozenset[str]:
    """The names and DNs of the groups listing the user (``memberUid``: by username, RFC 2307;
    otherwise by DN: ``member``, ``uniqueMember``, or AD's
    ``member:1.2.840.113556.1.4.1941:`` for nested groups)."""
    if not directory.group_base:
        return frozenset()
    attribute = directory.group_member_attribute
    value = username if attribute.lower() == "memberuid" else dn
    query = f"(&{directory.group_filter}({attribute}={escape_filter_chars(value)}))"
    found: set[str] = set()
    entries = connection.extend.standard.paged_search(
        directory.group_base,
        query,
        SUBTREE,
        attributes=[directory.group_name_attribute],
        paged_size=PAGE_SIZE,
        generator=True,
    )
    for result in entries:
        if result.get("type") != "searchResEntry":
            continue
        found.add(result["dn"].lower())
        name = _first(result.get("attributes", {}), directory.group_name_attribute)
        if name:
            found.add(name.lower())
    _check(connection, connection.result.get("result") == 0)
    return frozenset(found)


def _read(directory: Directory, connection: Connection, dn: str) -> dict | None:
    ok = connection.search(dn, "(objectClass=*)", BASE, attributes=_attributes(directory))
    _check(connection, ok)
    results = _results(connection)
    return results[0].get("attributes", {}) if results else None


def _find(directory: Directory, connection: Connection, username: str) -> dict | None:
    """The one entry the user filter matches for ``username`` (none, or several: None)."""
    ok = connection.search(
        directory.user_base,
        user_filter(directory, username),
        SUBTREE,
        attributes=_attributes(directory),
        size_limit=2,
    )
    if not ok and connection.result.get("result") == 4:  # sizeLimitExceeded: ambiguous
        log.warning("directory %s: more than one entry for a username", directory.slug)
        return None
    _check(connection, ok)
    results = _results(connection)
    if len(results) != 1:
        return None
    return results[0]


def authenticate(directory: Directory, username: str, password: str) -> Entry | None:
    """The user's entry if ``password`` is theirs, else None; raises ``Unreachable``."""
    if not username or not password or len(username) > MAX_USERNAME or "\x00" in username:
        return None
    if directory.bind_mode == Directory.BindMode.DIRECT:
        dn = user_dn(directory, username)
        with connect(directory, dn, password) as connection:
            if connection is None:
                return None
            attributes = _read(directory, connection, dn)
            if attributes is None:
                return None
            groups = _groups(
                directory,
                connection,
                dn,
                _first(attributes, directory.username_attribute) or username,
            )
            return _entry(directory, dn, attributes, groups)
    with service_connection(directory) as service:
        found = _find(directory, service, username)
        if found is None:
            return None
        dn, attributes = found["dn"], found.get("attributes", {})
        with connect(directory, dn, password) as as_user:
            if as_user is None:
                return None
        name = _first(attributes, directory.username_attribute) or username
        return _entry(directory, dn, attributes, _groups(directory, service, dn, name))


def lookup(directory: Directory, connection: Connection, dn: str) -> Entry | None:
    """The entry at ``dn`` as the sync sees it (None: gone, or no longer matching the user
    filter in ``search`` mode), with its groups."""
    attributes = _read(directory, connection, dn)
    if attributes is None:
        return None
    name = _first(attributes, directory.username_attribute)
    if directory.bind_mode == Directory.BindMode.SEARCH:
        found = _find(directory, connection, name) if name else None
        if found is None or found["dn"].lower() != dn.lower():
            return None
    return _entry(directory, dn, attributes, _groups(directory, connection, dn, name))


def probe(directory: Directory) -> str:
    """The console's connection test: bind as the service account (or anonymously) and count
    what the user filter finds under the base (search mode); raises ``Unreachable``."""
    with service_connection(directory) as connection:
        if directory.bind_mode != Directory.BindMode.SEARCH:
            return "connected and bound"
        ok = connection.search(
            directory.user_base,
            directory.user_filter.replace("{username}", "*"),
            SUBTREE,
            attributes=[],
            size_limit=1000,
        )
        if not ok and connection.result.get("result") != 4:
            _check(connection, ok)
        count = len(_results(connection))
        more = "+" if connection.result.get("result") == 4 else ""
        return f"connected and bound; the user filter finds {count}{more} entries"
