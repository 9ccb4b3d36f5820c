from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from console import charts, selectors
from console.access import console_view


@console_view()
def dashboard(request: HttpRequest) -> HttpResponse:
    now = selectors.now()
    activity = selectors.hourly_activity(now)
    chart = charts.bar_chart(
        [f"{row.hour:%H}:00" for row in activity],
        [[row.issued for row in activity], [row.failed_logins for row in activity]],
        ["access tokens issued", "failed sign-ins"],
    )
    context = {
        "activity": activity,
        "chart": chart,
        "issued_total": sum(row.issued for row in activity),
        "failed_total": sum(row.failed_logins for row in activity),
        "sessions": selectors.live_sessions(now),
        "signed_in": selectors.signed_in_people(now),
        "disabled": selectors.disabled_users(),
        "locks": selectors.locked_accounts(now)[0],
    }
    return render(request, "console/dashboard.html", context)
