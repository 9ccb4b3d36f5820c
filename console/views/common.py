"""Helpers shared by the console views."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.http import urlencode

from roles.access import AccessError

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
    for name, messages in exc.message_dict.items():
        form.add_error(name if name in form.fields else None, messages)


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
