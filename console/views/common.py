"""Helpers shared by the console views."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest

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
