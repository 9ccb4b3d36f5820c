"""Helpers shared by the console views."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest
from django.utils.http import urlencode

from accounts.models import User
from console import access
from core.request_meta import request_meta
from oauth.models import Client
from roles.access import (
    AccessError,
    Principal,
    acting,
    require_client_write,
    require_group_write,
    require_role_write,
    require_user_write,
)
from roles.models import Group, Role

PER_PAGE = 50

# What a write may be refused with: bad input (``ValidationError``) or an access decision of
# ``roles.access`` (the hierarchy guard); both are shown to the admin, never a 500.
REFUSED = (ValidationError, AccessError)


def refusal_text(exc: ValidationError | AccessError) -> str:
    return " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)


def add_errors(form: forms.Form, exc: ValidationError | AccessError) -> None:
    """Show a refusal on the form: a ``ValidationError`` on its field when the form has one."""
    if isinstance(exc, AccessError):
        form.add_error(None, str(exc))
        return
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for name, errors in exc.message_dict.items():
        form.add_error(name if name in form.fields else None, errors)


# What guards a write to each kind of object: the hierarchy checks of ``roles.access``.
WRITE_GUARDS: tuple[tuple[type[Model], Callable[[Principal, Any], None]], ...] = (
    (User, require_user_write),
    (Client, require_client_write),
    (Role, require_role_write),
    (Group, require_group_write),
)


def writing(subject: Model) -> Callable[[Principal], None]:
    """``perform``'s guard for a write to ``subject`` (a user, a client, a role or a group)."""
    check = next(check for model, check in WRITE_GUARDS if isinstance(subject, model))
    return lambda principal: check(principal, subject)


@dataclass(frozen=True)
class Outcome:
    """What ``perform`` did: the service's ``value``, or why it was ``refused`` (shown already)."""

    value: Any = None
    refused: str | None = None


def perform(
    request: HttpRequest,
    service: Callable[..., Any],
    /,
    *,
    guard: Callable[[Principal], object] | None = None,
    form: forms.Form | None = None,
    message: bool = True,
    reload: Model | None = None,
    **arguments: Any,
) -> Outcome:
    """Run a domain ``service`` for the signed-in admin: ``guard(principal)`` first (a
    ``roles.access`` hierarchy check), then ``service(actor=, meta=, **arguments)``, which audits
    its own change. A refusal (``REFUSED``) is never raised: ``reload`` (a row the service set
    fields on before refusing) is read again, and the reason goes on ``form`` when there is one,
    else into an error message (``message=False``: the caller shows ``Outcome.refused``)."""
    principal = access.principal(request)
    try:
        if guard is not None:
            guard(principal)
        value = service(actor=acting(principal), meta=request_meta(request), **arguments)
    except REFUSED as exc:
        if reload is not None:
            reload.refresh_from_db()
        if form is not None:
            add_errors(form, exc)
        elif message:
            messages.error(request, refusal_text(exc))
        return Outcome(refused=refusal_text(exc))
    return Outcome(value)


def page_of(request: HttpRequest, rows: QuerySet | list) -> Page:
    """The requested page (a bad or out-of-range number gives the nearest valid page)."""
    return Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))


def searched(request: HttpRequest, rows: QuerySet, fields: Sequence[str]) -> dict[str, Any]:
    """A list page's context: ``q`` from the query string (what was typed, at most 150
    characters), the page of ``rows`` holding it in any of ``fields`` (case-insensitive), and
    the query string the pager keeps."""
    q = request.GET.get("q", "").strip()[:150]
    if q:
        match = Q()
        for field in fields:
            match |= Q(**{f"{field}__icontains": q})
        rows = rows.filter(match)
    return {"q": q, "page": page_of(request, rows), "query": urlencode({"q": q}) if q else ""}
