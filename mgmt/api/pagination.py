"""Page-number pagination with a capped page size (OWASP API4: no ``page_size=100000``).

Every list of the management API pages alike: ``{"count", "next", "previous", "results"}``.
``page`` and ``page_size`` are whole numbers from 1 (``page_size`` at most ``MAX_PAGE_SIZE``);
anything else is a 400 validation problem naming the parameter, never a silent default or cap.
A page past the end is a 400 naming ``page`` too (DRF answers 404, as if the list were missing):
the list exists, the number is out of its range. Page 1 of an empty list is an empty page.
"""

from __future__ import annotations

import re
from typing import Any

from django.db.models import QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request

MAX_PAGE_SIZE = 100
_WHOLE_NUMBER = re.compile(r"[0-9]{1,9}")


def _parameter(request: Request, name: str, default: int, maximum: int | None = None) -> int:
    """Query parameter ``name`` as a whole number from 1 to ``maximum``; a 400 naming it if not."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    value = int(raw) if _WHOLE_NUMBER.fullmatch(raw) else 0
    if value < 1:
        raise ValidationError({name: ["A whole number from 1 is required."]})
    if maximum is not None and value > maximum:
        raise ValidationError({name: [f"At most {maximum}."]})
    return value


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def get_page_size(self, request: Request) -> int:
        return _parameter(request, self.page_size_query_param, self.page_size, self.max_page_size)

    def paginate_queryset(
        self, queryset: QuerySet | list, request: Request, view: Any = None
    ) -> list:
        size = self.get_page_size(request)
        number = _parameter(request, self.page_query_param, 1)
        paginator = self.django_paginator_class(queryset, size)
        if number > paginator.num_pages:
            pages = paginator.num_pages
            raise ValidationError(
                {self.page_query_param: [f"Past the end: {pages} page(s) of {size}."]}
            )
        self.page = paginator.page(number)
        self.request = request
        return list(self.page)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        """The bounds in the schema too, so clients (and Schemathesis) know them."""
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"]["maximum"] = self.max_page_size
        return parameters
