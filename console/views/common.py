"""Helpers shared by the console views."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest

PER_PAGE = 50


def add_errors(form: forms.Form, exc: ValidationError) -> None:
    """Show a service's ``ValidationError`` on the form, on its field when the form has one."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for name, messages in exc.message_dict.items():
        form.add_error(name if name in form.fields else None, messages)


def page_of(request: HttpRequest, rows: QuerySet | list) -> Page:
    """The requested page (a bad or out-of-range number gives the nearest valid page)."""
    return Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
