from __future__ import annotations

import csv
from collections.abc import Iterator

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils.http import urlencode

from audit.models import AuditEvent
from console import access, selectors
from console.forms import AuditFilterForm
from console.views.common import page_of

CSV_COLUMNS = ("id", "ts", "event", "outcome", "actor", "target", "client_id", "ip", "request_id")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    """A cell a spreadsheet will not run as a formula (OWASP CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


@access.console_view(access.AUDIT_READ)
def audit_list(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    filters = form.filters()
    query = urlencode({k: v for k, v in request.GET.items() if k != "page" and v})
    context = {
        "form": form,
        "page": page_of(request, selectors.audit_events(**filters)),
        "query": query,
        "event_names": selectors.audit_event_names(),
    }
    return render(request, "console/audit/list.html", context)


class _Echo:
    def write(self, value: str) -> str:
        return value


def _rows(events: Iterator[AuditEvent]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    for event in events:
        yield writer.writerow([csv_cell(getattr(event, c)) for c in CSV_COLUMNS])


@access.console_view(access.AUDIT_READ)
def audit_export(request: HttpRequest) -> HttpResponse:
    """The filtered events as CSV (the same filters as the page; an invalid filter exports
    nothing rather than everything)."""
    form = AuditFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        events = AuditEvent.objects.none()
    else:
        events = selectors.audit_events(**form.filters())
    response = StreamingHttpResponse(
        _rows(events.iterator(chunk_size=2000)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="audit-events.csv"'
    return response
