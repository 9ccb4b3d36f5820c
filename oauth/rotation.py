"""The token endpoint's writes in a few statements: refresh rotation and what a grant issues.

django-oauth-toolkit's ORM rotation costs about twenty statements a refresh (a lookup twice,
locks taken again, a delete through the collector, a save of every column); the same rows are
written here with raw SQL over DOT's tables. The token view reads and signs outside any
transaction and writes in one short one at the end (``Validator.save_bearer_token``):

- ``find``: the presented refresh token by checksum (the live row first, else the most recently
  revoked one), unlocked, with its access token's scope and expiry, the family's sign-in
  context and the user, in one statement;
- ``consume``: in the write transaction, the old refresh token revoked only while it is still
  current (``revoked IS NULL``; one that does not rotate, only while it still points at the
  access token read), its access token deleted (as DOT's ``revoke`` does) with what points at
  it, in one statement on PostgreSQL (data-modifying CTEs): of two uses of one token only one
  gets past it;
- ``issue``: the new ID token row, access token and refresh token, in one statement on
  PostgreSQL, each in its own on SQLite;
- reuse of a rotated-out token revokes the whole family (DOT's set-based ``revoke_family``),
  except within ``REFRESH_TOKEN_GRACE_PERIOD`` for the immediate predecessor of the live token
  (a client retrying a refresh whose answer it lost): that rotates the live token in its place.

On PostgreSQL a refresh is four statements: the change counters read (when another process
moved one), ``find``, ``consume`` and ``issue``, which also advances the ``access-tokens``
generation (``core.generations``) that tells every process the old access token is gone.
Values go through the model fields' own conversions both ways, so the rows are the ones the
ORM writes (hashed tokens: only their SHA-256 checksum is stored).
"""

# Only model metadata (table and column names) is interpolated into the SQL here; every value
# is a parameter.
# ruff: noqa: S608
from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, models
from django.db.models.deletion import get_candidate_relations_to_delete
from django.utils import timezone
from oauth2_provider.models import (
    get_access_token_model,
    get_grant_model,
    get_id_token_model,
    get_refresh_token_model,
    refresh_token_expire_timedelta,
    set_token_value,
)
from oauth2_provider.settings import oauth2_settings

from core import generations
from core.crypto import sha256_hex
from oauth.models import AuthContext

ACCESS_TOKENS = "access-tokens"  # the generation a deleted access-token row bumps (oauth.apps)


def _qn(name: str) -> str:
    return connection.ops.quote_name(name)


class _Table:
    """One model's table read and written with raw SQL: its columns, and Django's conversions
    of the values (the ones the ORM's compiler applies) built once per database vendor."""

    def __init__(self, model: type[models.Model], alias: str) -> None:
        self.model = model
        self.alias = alias
        self.fields = list(model._meta.concrete_fields)
        self.name = model._meta.db_table
        self._converters: dict[str, list[tuple[int, list[Any], Any]]] = {}

    @property
    def table(self) -> str:
        return f"{_qn(self.name)} {self.alias}"

    def column(self, attname: str) -> str:
        return f"{self.alias}.{_qn(self.model._meta.get_field(attname).column)}"

    def columns(self) -> str:
        return ", ".join(f"{self.alias}.{_qn(f.column)}" for f in self.fields)

    def build(self, values: list[Any] | tuple[Any, ...]) -> Any:
        """A model instance of ``values`` (in ``columns()`` order), converted as the ORM does."""
        vendor = connection.vendor
        converters = self._converters.get(vendor)
        if converters is None:
            converters = []
            for position, field in enumerate(self.fields):
                col = field.get_col(self.alias)
                convs = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
                if convs:
                    converters.append((position, convs, col))
            self._converters[vendor] = converters
        row = list(values)
        for position, convs, col in converters:
            value = row[position]
            for convert in convs:
                value = convert(value, col, connection)
            row[position] = value
        return self.model.from_db(connection.alias, [f.attname for f in self.fields], row)

    def convert(self, attname: str, value: Any) -> Any:
        """One column's value as the ORM reads it (``build`` does every column)."""
        if value is None:
            return None
        col = self.model._meta.get_field(attname).get_col(self.alias)
        for convert in connection.ops.get_db_converters(col) + col.get_db_converters(connection):
            value = convert(value, col, connection)
        return value

    def insert(self, obj: models.Model, linked: dict[str, str]) -> tuple[str, list[Any]]:
        """``INSERT ... RETURNING pk`` of the unsaved ``obj``, with the fields of ``linked`` set
        to SQL expressions (another statement's id) instead of parameters."""
        params = [
            field.get_db_prep_save(field.pre_save(obj, True), connection)  # auto_now, checksum
            for field in self.fields
            if not field.primary_key and field.attname not in linked
        ]
        return self._insert_sql(connection.vendor, tuple(sorted(linked.items()))), params

    @functools.cache  # noqa: B019 - one per table and vendor, for the process's life
    def _insert_sql(self, vendor: str, linked: tuple[tuple[str, str], ...]) -> str:
        expressions = dict(linked)
        columns, marks = [], []
        for field in self.fields:
            if not field.primary_key:
                columns.append(_qn(field.column))
                marks.append(expressions.get(field.attname, "%s"))
        pk = _qn(self.model._meta.pk.column)
        sql = f"INSERT INTO {_qn(self.name)} ({', '.join(columns)}) VALUES ({', '.join(marks)})"  # nosec B608
        return f"{sql} RETURNING {pk}"


_tables: dict[str, _Table] = {}


def _table(key: str) -> _Table:
    table = _tables.get(key)
    if table is None:
        model = {
            "rt": get_refresh_token_model,
            "at": get_access_token_model,
            "idt": get_id_token_model,
            "gr": get_grant_model,
            "ctx": lambda: AuthContext,
            "usr": lambda: AuthContext._meta.get_field("user").related_model,
        }[key]()
        table = _tables[key] = _Table(model, key)
    return table


@dataclass
class Presented:
    """A presented refresh token's row, with what rotating it needs."""

    refresh: Any  # the RefreshToken row (its ``user`` loaded)
    scope: str | None  # its access token's scope (None: the access token is gone)
    access_expires: datetime | None
    context: AuthContext | None  # the family's sign-in context

    @property
    def idle_expired(self) -> bool:
        """DOT's idle lifetime: ``REFRESH_TOKEN_EXPIRE_SECONDS`` after its access token expires
        (a live token without an access token is an orphan: dead too)."""
        if self.access_expires is None:
            return True
        idle = refresh_token_expire_timedelta()
        return bool(idle) and self.access_expires + idle <= timezone.now()


def _with_context_sql(
    owner: _Table, extra: str, joins: str, context_on: tuple[str, str], where: str
) -> str:
    """The ``SELECT`` of the row ``_split`` reads: ``owner``'s columns, the ``extra``
    expressions, the sign-in context's columns (outer-joined where its column ``context_on[0]``
    equals the owner's ``context_on[1]``) and the user's, from ``owner`` and its other
    ``joins``. Only model metadata is interpolated; the values are parameters of ``where``."""
    ctx, user = _table("ctx"), _table("usr")
    return (
        f"SELECT {owner.columns()}, {extra}{ctx.columns()}, {user.columns()} "  # nosec B608
        f"FROM {owner.table}{joins} "
        f"LEFT JOIN {ctx.table} ON {ctx.column(context_on[0])} = {owner.column(context_on[1])} "
        f"INNER JOIN {user.table} ON {user.column('id')} = {owner.column('user_id')} "
        f"WHERE {where}"
    )


@functools.cache
def _find_sql(vendor: str) -> str:
    rt, at = _table("rt"), _table("at")
    return _with_context_sql(
        rt,
        f"{at.column('scope')}, {at.column('expires')}, ",
        f" LEFT JOIN {at.table} ON {at.column('id')} = {rt.column('access_token_id')}",
        ("token_family", "token_family"),
        f"{rt.column('token_checksum')} = %s "
        f"ORDER BY {rt.column('revoked')} DESC NULLS FIRST LIMIT 1",
    )


def _split(owner: _Table, row: tuple[Any, ...], extra: int) -> tuple[Any, tuple, Any]:
    """A row of ``owner``'s columns, ``extra`` more values, then the sign-in context's and the
    user's columns: the ``owner`` instance with its ``user``, the extra values, and the
    context (None when the outer join found none)."""
    ctx, user = _table("ctx"), _table("usr")
    n, n_ctx = len(owner.fields), len(ctx.fields)
    found = owner.build(row[:n])
    found.user = user.build(row[n + extra + n_ctx :])
    values = row[n + extra : n + extra + n_ctx]
    return found, row[n : n + extra], ctx.build(values) if values[0] is not None else None


def find(refresh_token: str) -> Presented | None:
    """The row of ``refresh_token`` (the live one, else the most recently revoked), or None.
    Unlocked: ``consume`` revokes it only if it is still current."""
    return _find(sha256_hex(refresh_token))


def _find(checksum: str) -> Presented | None:
    with connection.cursor() as cursor:
        cursor.execute(_find_sql(connection.vendor), [checksum])
        row = cursor.fetchone()
    if row is None:
        return None
    refresh, (scope, expires), context = _split(_table("rt"), row, 2)
    return Presented(refresh, scope, _table("at").convert("expires", expires), context)


@functools.cache
def _grant_sql(vendor: str) -> str:
    grant = _table("gr")
    return _with_context_sql(grant, "", "", ("grant_id", "id"), f"{grant.column('code')} = %s")


def find_grant(digest: str) -> Any:
    """The authorization code's grant row by the code's ``digest``, with its sign-in context
    (``auth_context``, None when it has none) and user, in one statement, unlocked: the
    exchange deletes it only if it is still there (``delete``). None when there is no such
    code."""
    with connection.cursor() as cursor:
        cursor.execute(_grant_sql(connection.vendor), [digest])
        row = cursor.fetchone()
    if row is None:
        return None
    grant, _, context = _split(_table("gr"), row, 0)
    if context is not None:
        context.grant = grant
    get_grant_model().auth_context.related.set_cached_value(grant, context)
    return grant


def within_grace(refresh: Any) -> bool:
    """Whether the rotated-out ``refresh`` is within ``REFRESH_TOKEN_GRACE_PERIOD``."""
    grace = oauth2_settings.REFRESH_TOKEN_GRACE_PERIOD_SECONDS
    return bool(grace) and refresh.revoked > timezone.now() - timedelta(seconds=grace)


def successor(refresh: Any) -> Presented | None:
    """The live refresh token rotated from ``refresh`` (minted from it and not yet used), or
    None: then ``refresh`` is not the immediate predecessor of the family's live token."""
    rt, at = _table("rt"), _table("at")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {rt.column('token_checksum')} FROM {rt.table} "  # nosec B608
            f"INNER JOIN {at.table} ON {at.column('id')} = {rt.column('access_token_id')} "
            f"WHERE {at.column('source_refresh_token_id')} = %s AND {rt.column('revoked')} IS NULL",
            [refresh.pk],
        )
        row = cursor.fetchone()
    return None if row is None else _find(row[0])


def _dependents(model: type[models.Model], skip: Any = None) -> list[tuple[str, str, bool]] | None:
    """What points at a ``model`` row, as (table, column, whether its rows are deleted rather
    than unset), but the relation ``skip``; None when a delete needs Django's collector (a
    cascade to rows with dependents of their own, or a protecting relation)."""
    found = []
    for rel in get_candidate_relations_to_delete(model._meta):  # the collector's, hidden too
        if rel.field is skip:
            continue
        other = rel.related_model
        if rel.on_delete is models.SET_NULL:
            found.append((other._meta.db_table, rel.field.column, False))
        elif rel.on_delete is models.CASCADE and not any(
            get_candidate_relations_to_delete(other._meta)
        ):
            found.append((other._meta.db_table, rel.field.column, True))
        else:
            return None
    return found


def _delete_statements(
    model: type[models.Model], pk: Any, skip: Any = None, guard: str = ""
) -> list[tuple[str, list[Any]]] | None:
    """The statements deleting row ``pk`` of ``model`` as the ORM would (dependents unset or
    deleted first), each only if SQL condition ``guard`` holds; None: use the ORM."""
    sql = _delete_sql(model, skip, guard, connection.vendor)
    return None if sql is None else [(statement, [pk]) for statement in sql]


@functools.cache
def _delete_sql(
    model: type[models.Model], skip: Any, guard: str, vendor: str
) -> tuple[str, ...] | None:
    dependents = _dependents(model, skip)
    if dependents is None:
        return None
    statements = []
    for table, column, delete in dependents:
        action = (
            f"DELETE FROM {_qn(table)}"  # nosec B608
            if delete
            else f"UPDATE {_qn(table)} SET {_qn(column)} = NULL"  # nosec B608
        )
        statements.append(f"{action} WHERE {_qn(column)} = %s{guard}")
    own = f"DELETE FROM {_qn(model._meta.db_table)} WHERE {_qn(model._meta.pk.column)} = %s{guard}"  # nosec B608
    return (*statements, own)


def _fold_bump(bump: str, parts: list[str], params: list[Any], selects: list[str]) -> None:
    """Add to a statement of data-modifying CTEs (``parts``, ``params``, the final SELECT's
    ``selects``) the advance and announcement of generation ``bump`` (none when empty)."""
    if not bump:
        return
    update, announce = generations.bump_statement(bump)
    parts.append(f"bumped AS ({update[0]})")
    params += update[1]
    selects.append(announce[0])
    params += announce[1]


def _run_with(
    cursor: Any,
    lead: tuple[str, list[Any]] | None,
    statements: list[tuple[str, list[Any]]],
) -> tuple[int, int]:
    """Run ``lead`` (an ``UPDATE ... RETURNING``) and then ``statements`` (the last one a
    delete), on PostgreSQL as one statement of data-modifying CTEs. Returns the rows of the
    lead and of the last statement."""
    if connection.vendor == "postgresql" and statements:
        parts, params = [], []
        if lead is not None:
            parts.append(f"lead AS ({lead[0]})")
            params += lead[1]
        for n, (sql, values) in enumerate(statements):
            parts.append(f"s{n} AS ({sql}{' RETURNING 1' if n == len(statements) - 1 else ''})")
            params += values
        last = f"s{len(statements) - 1}"
        lead_count = "(SELECT count(*) FROM lead)" if lead is not None else "1"
        selects = [lead_count, f"(SELECT count(*) FROM {last})"]  # nosec B608
        sql = f"WITH {', '.join(parts)} SELECT {', '.join(selects)}"  # nosec B608
        cursor.execute(sql, params)
        row = cursor.fetchone()
        return int(row[0]), int(row[1])
    led = 1
    if lead is not None:
        cursor.execute(*lead)
        led = len(cursor.fetchall())
        if not led:
            return 0, 0
    removed = 0
    for sql, values in statements:
        cursor.execute(sql, values)
        removed = cursor.rowcount
    return led, removed


@functools.cache
def _consume_sql(vendor: str, revoke: bool) -> str:
    """The compare-and-set of ``consume``: a rotating token while it is not revoked, one that
    does not rotate while it also still points at the access token read (null-safe: ``IS``
    on SQLite), so that of two concurrent refreshes with it only one replaces that token."""
    rt_model = get_refresh_token_model()
    revoking = f"{_qn('revoked')} = %s, " if revoke else ""
    pk = _qn(rt_model._meta.pk.column)
    access = _qn(rt_model._meta.get_field("access_token").column)
    same = "IS NOT DISTINCT FROM" if vendor == "postgresql" else "IS"
    unchanged = "" if revoke else f" AND {access} {same} %s"
    return (
        f"UPDATE {_qn(rt_model._meta.db_table)} SET {revoking}{_qn('updated')} = %s, "  # nosec B608
        f"{access} = NULL "
        f"WHERE {pk} = %s AND {_qn('revoked')} IS NULL{unchanged} RETURNING {pk}"
    )


def consume(presented: Presented, *, revoke: bool = True) -> str | None:
    """Revoke the presented refresh token if it is still current, and delete its access token
    (DOT's ``revoke``), in one statement on PostgreSQL. None when it was no longer current;
    else the generation the caller advances in the statement that stores the new tokens
    (``issue``'s ``bump``; "" when there is none to advance). On PostgreSQL the advance holds
    its shard's row lock until the commit (``core.generations``): advanced in the last
    statement, it is not also held through the new tokens' insert. ``revoke=False``: the
    refresh token stays current (it does not rotate) and only loses its access token, if that
    is still the one read (else None: another refresh replaced it meanwhile); ``reattach``
    gives it the new one."""
    rt_model, at_model = get_refresh_token_model(), get_access_token_model()
    refresh = presented.refresh
    now = timezone.now()
    stamp = connection.ops.adapt_datetimefield_value(now)
    access_id = refresh.access_token_id
    lead = (
        _consume_sql(connection.vendor, revoke),
        [stamp] * (2 if revoke else 1) + [refresh.pk] + ([] if revoke else [access_id]),
    )
    guard = " AND EXISTS (SELECT 1 FROM lead)" if connection.vendor == "postgresql" else ""
    statements = _delete_statements(
        at_model, access_id, skip=rt_model._meta.get_field("access_token"), guard=guard
    )
    with connection.cursor() as cursor:
        if statements is None:
            led, _ = _run_with(cursor, lead, [])
            if led:
                at_model.objects.filter(pk=access_id).delete()  # the collector, and its signals
            return "" if led else None
        led, removed = _run_with(cursor, lead, statements)
    if not led:
        return None
    refresh.access_token_id = None
    if revoke:
        refresh.revoked = now
    # what the delete signal would do (oauth.apps): folded into ``issue`` on PostgreSQL
    if generations.folds_bumps():
        return ACCESS_TOKENS
    if removed:
        generations.bump(ACCESS_TOKENS)
    return ""


def reattach(refresh: Any, access: Any) -> None:
    """Point the refresh token that did not rotate at its new access token."""
    rt_model = get_refresh_token_model()
    column = _qn(rt_model._meta.get_field("access_token").column)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_qn(rt_model._meta.db_table)} SET {column} = %s "  # nosec B608
            f"WHERE {_qn(rt_model._meta.pk.column)} = %s",
            [access.pk, refresh.pk],
        )
    refresh.access_token_id = access.pk


def delete(model: type[models.Model], pk: Any) -> bool:
    """Delete row ``pk`` of ``model`` as the ORM would (its dependents unset or deleted), in
    one statement on PostgreSQL; whether it existed. No delete signals: for rows no cache
    watches (codes)."""
    statements = _delete_statements(model, pk)
    if statements is None:
        return bool(model.objects.filter(pk=pk).delete()[0])
    with connection.cursor() as cursor:
        return bool(_run_with(cursor, None, statements)[1])


def issue(
    request: Any,
    token: dict[str, Any],
    *,
    source: Any = None,
    family: uuid.UUID | None = None,
    id_token: Any = None,
    bump: str = "",
) -> tuple[Any, Any]:
    """Store what ``token`` issued: the unsaved ``id_token`` row (if any), the access token
    (from refresh token ``source``, if any) and its refresh token (if ``token`` has one; in
    ``family``, else a new one), in one statement on PostgreSQL, which also advances
    generation ``bump`` (what ``consume`` left to it). Returns (access, refresh)."""
    at_model, rt_model = get_access_token_model(), get_refresh_token_model()
    resource = list(getattr(request, "resource", None) or [])
    access = at_model(
        user=request.user,
        scope=token["scope"],
        expires=timezone.now() + timedelta(seconds=token["expires_in"]),
        application=request.client,
        source_refresh_token_id=source.pk if source is not None else None,
        resource=resource,
    )
    set_token_value(access, token["access_token"])
    refresh = None
    if token.get("refresh_token"):
        refresh = rt_model(
            user=request.user,
            application=request.client,
            token_family=family or uuid.uuid4(),
            resource=resource,
        )
        set_token_value(refresh, token["refresh_token"])
    rows = [("idt", id_token, {}), ("at", access, {}), ("rt", refresh, {})]
    rows = [(key, obj, linked) for key, obj, linked in rows if obj is not None]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            parts, params = [], []
            for key, obj, _ in rows:
                linked = {}
                if key == "at" and id_token is not None:
                    linked["id_token_id"] = "(SELECT id FROM idt)"
                if key == "rt":
                    linked["access_token_id"] = "(SELECT id FROM at)"
                sql, values = _table(key).insert(obj, linked)
                parts.append(f"{key} AS ({sql})")
                params += values
            selects = [f"(SELECT id FROM {key})" for key, _, _ in rows]  # nosec B608
            _fold_bump(bump, parts, params, selects)
            cursor.execute(f"WITH {', '.join(parts)} SELECT {', '.join(selects)}", params)
            ids = cursor.fetchone()[: len(rows)]
            if bump:
                generations.bumped(bump)
        else:
            if bump:
                generations.bump(bump)
            ids = []
            for key, obj, _ in rows:
                if key == "at" and id_token is not None:
                    obj.id_token_id = id_token.pk
                if key == "rt":
                    obj.access_token_id = access.pk
                cursor.execute(*_table(key).insert(obj, {}))
                obj.pk = cursor.fetchone()[0]
                ids.append(obj.pk)
    for (key, obj, _), pk in zip(rows, ids, strict=True):
        obj.pk = pk
        obj._state.adding = False
        if key == "at" and id_token is not None:
            obj.id_token_id = id_token.pk
        if key == "rt":
            obj.access_token_id = access.pk
    return access, refresh
