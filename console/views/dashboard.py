"""The dashboard: totals, sign-in and token charts (per hour over 24 h or per day over 30
days, ``?period=``), the top clients by tokens and source addresses by failures, each chart
with its table; every series is one aggregate query over the audit rows
(``console.selectors``)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from console import charts, selectors
from console.access import console_view
from core import clock

SIGN_IN_SERIES = ["successful sign-ins", "failed sign-ins", "second-factor failures"]


@console_view()
def dashboard(request: HttpRequest) -> HttpResponse:
    now = clock.utcnow()
    period = selectors.PERIODS.get(request.GET.get("period", ""), selectors.PERIODS["24h"])
    activity = selectors.activity(now, period)
    labels = [f"{row.start:{period.label_format}}" for row in activity]
    every = 3 if period.unit == "hour" else 5
    sign_ins = charts.bar_chart(
        labels,
        [
            [row.signed_in for row in activity],
            [row.failed_logins for row in activity],
            [row.second_factor_failed for row in activity],
        ],
        SIGN_IN_SERIES,
        label_every=every,
    )
    tokens = charts.bar_chart(
        labels, [[row.issued for row in activity]], ["access tokens issued"], label_every=every
    )
    clients = selectors.top_clients(now, period)
    addresses = selectors.top_failing_addresses(now, period)
    context = {
        "period": period,
        "periods": selectors.PERIODS.values(),
        "activity": activity,
        "sign_in_chart": sign_ins,
        "token_chart": tokens,
        "issued_total": sum(row.issued for row in activity),
        "failed_total": sum(row.failed_logins for row in activity),
        "signed_in_total": sum(row.signed_in for row in activity),
        "second_factor_total": sum(row.second_factor_failed for row in activity),
        "top_clients": clients,
        "client_chart": charts.ranking([c.label for c in clients], [c.count for c in clients]),
        "top_addresses": addresses,
        "address_chart": charts.ranking([a.label for a in addresses], [a.count for a in addresses]),
        "sessions": selectors.live_sessions(now),
        "signed_in": selectors.signed_in_people(now),
        "disabled": selectors.disabled_users(),
        "locks": selectors.locked_accounts(now)[0],
    }
    return render(request, "console/dashboard.html", context)
