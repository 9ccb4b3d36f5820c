"""The dashboard's series, from the audit rows with aggregate queries (counts and query count)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from audit.models import AuditEvent
from console import selectors
from tests.console.conftest import text

pytestmark = pytest.mark.django_db

NOW = datetime(2030, 6, 15, 12, 30, tzinfo=UTC)  # far from the real clock (sign-in rows)
OK, FAILED, DENIED = (
    AuditEvent.Outcome.SUCCESS,
    AuditEvent.Outcome.FAILURE,
    AuditEvent.Outcome.DENIED,
)


def row(event: str, ago: timedelta, outcome: str = OK, ip: str | None = None, client_id: str = ""):
    AuditEvent.objects.create(
        ts=NOW - ago, event=event, outcome=outcome, ip=ip, client_id=client_id
    )


@pytest.fixture
def history(db, make_client):
    make_client(client_id="webapp", name="Web app")
    hour, day = timedelta(hours=1), timedelta(days=1)
    row("login", timedelta(minutes=5))
    row("login", timedelta(minutes=10), FAILED, ip="203.0.113.7")
    row("login", timedelta(minutes=20), DENIED, ip="203.0.113.7")
    row("mfa.verify", timedelta(minutes=25), FAILED, ip="198.51.100.2")
    row("mfa.verify", timedelta(minutes=25))  # a success is not a failure
    row("login", 2 * hour)
    row("mfa.verify", 3 * hour, DENIED, ip="198.51.100.2")
    for _ in range(3):
        row("token.issued", timedelta(minutes=1), client_id="webapp")
    row("token.refreshed", 5 * hour, client_id="webapp")
    row("token.issued", 2 * hour, client_id="gone")  # a deleted client keeps its id
    row("token.issued", 3 * day, client_id="gone")
    row("login", 3 * day, FAILED, ip="192.0.2.9")
    row("login", 40 * day, FAILED, ip="192.0.2.9")  # outside both windows
    row("role.created", timedelta(minutes=1))  # not counted anywhere


def test_per_hour_over_24_hours(history):
    slots = selectors.activity(NOW, selectors.PERIODS["24h"])
    assert len(slots) == 24
    assert slots[0].start == datetime(2030, 6, 14, 13, tzinfo=UTC)
    current = slots[-1]
    assert current.start == datetime(2030, 6, 15, 12, tzinfo=UTC)
    assert (current.signed_in, current.failed_logins, current.second_factor_failed) == (1, 2, 1)
    assert current.issued == 3
    assert slots[-3].signed_in == 1 and slots[-3].issued == 1  # 10:00
    assert slots[-4].second_factor_failed == 1 and slots[-6].issued == 1
    assert sum(s.failed_logins for s in slots) == 2


def test_per_day_over_30_days(history):
    slots = selectors.activity(NOW, selectors.PERIODS["30d"])
    assert len(slots) == 30
    assert slots[-1].start == datetime(2030, 6, 15, tzinfo=UTC)
    assert slots[0].start == datetime(2030, 5, 17, tzinfo=UTC)
    today = slots[-1]
    assert (today.signed_in, today.failed_logins, today.second_factor_failed, today.issued) == (
        2,
        2,
        2,
        5,
    )
    assert slots[-4].failed_logins == 1 and slots[-4].issued == 1
    assert sum(s.failed_logins for s in slots) == 3


def test_top_clients_and_addresses(history):
    day, month = selectors.PERIODS["24h"], selectors.PERIODS["30d"]
    clients = selectors.top_clients(NOW, day)
    assert [(c.label, c.count) for c in clients] == [("Web app", 4), ("gone", 1)]
    assert clients[0].client_pk is not None and clients[1].client_pk is None
    assert [(c.label, c.count) for c in selectors.top_clients(NOW, month)][1] == ("gone", 2)
    addresses = selectors.top_failing_addresses(NOW, day)
    assert [(a.label, a.count) for a in addresses] == [("198.51.100.2", 2), ("203.0.113.7", 2)]
    assert ("192.0.2.9", 1) in [
        (a.label, a.count) for a in selectors.top_failing_addresses(NOW, month)
    ]


def test_each_series_is_one_aggregate_query(history, django_assert_num_queries, make_client):
    for number in range(10):
        make_client(client_id=f"c{number}")
        row("token.issued", timedelta(minutes=2), client_id=f"c{number}")
    with django_assert_num_queries(1):
        selectors.activity(NOW, selectors.PERIODS["30d"])
    with django_assert_num_queries(2):
        assert len(selectors.top_clients(NOW, selectors.PERIODS["24h"])) == 5
    with django_assert_num_queries(1):
        selectors.top_failing_addresses(NOW, selectors.PERIODS["24h"])


def count_queries(console, path: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert console.get(path).status_code == 200
    return len(queries)


def test_the_dashboard_page_shows_both_periods_with_tables_in_constant_queries(
    console, history, clock, make_client
):
    clock.set(NOW.timestamp())
    page = text(console.get("/console/"))
    assert "Sign-ins per hour, last 24 hours (UTC)" in page
    assert "<title>12:00: 2 failed sign-ins</title>" in page
    assert "<title>12:00: 1 second-factor failures</title>" in page
    assert "<title>12:00: 3 access tokens issued</title>" in page
    assert "<title>Web app: 4</title>" in page
    assert "<td><code>203.0.113.7</code></td><td>2</td>" in page
    assert '<span class="stat-value">5</span><span class="stat-label">access tokens issued' in page
    month = text(console.get("/console/", {"period": "30d"}))
    assert "Sign-ins per day, last 30 days (UTC)" in month
    assert "<title>06-15: 5 access tokens issued</title>" in month
    assert "<td>2030-06-12 00:00</td><td>0</td><td>1</td><td>0</td>" in month
    assert "<td><code>192.0.2.9</code></td><td>1</td>" in month
    assert 'href="?period=30d" aria-current="page"' in month
    # An unknown period is the default one, not an error.
    assert "last 24 hours" in text(console.get("/console/", {"period": "1y"}))

    before = count_queries(console, "/console/?period=30d")
    for number in range(10):
        make_client(client_id=f"c{number}")
        row("token.issued", timedelta(minutes=2), client_id=f"c{number}")
        row("login", timedelta(minutes=2), FAILED, ip=f"192.0.2.{number + 100}")
    assert count_queries(console, "/console/?period=30d") == before
