"""``RequestMeta``: built once per request from what the proxy and request-id layers left."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from audit.models import AuditEvent
from audit.services import record
from core.request_meta import NO_REQUEST, RequestMeta, request_meta


def test_a_django_request_gives_its_address_user_agent_and_request_id() -> None:
    request = RequestFactory().get(
        "/", REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT="curl/8", HTTP_X_REQUEST_ID="req-1"
    )
    assert request_meta(request) == RequestMeta("203.0.113.9", "curl/8", "req-1")


def test_it_is_built_once_per_request() -> None:
    request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.9")
    first = request_meta(request)
    request.META["REMOTE_ADDR"] = "198.51.100.1"
    assert request_meta(request) is first


def test_an_oauthlib_request_is_read_from_its_headers() -> None:
    from oauthlib.common import Request

    request = Request("https://as.example/o/token/", headers={"REMOTE_ADDR": "192.0.2.7"})
    assert request_meta(request).ip == "192.0.2.7"


def test_no_request_records_nothing_about_a_sender() -> None:
    assert request_meta(None) == NO_REQUEST == RequestMeta(None, "", "")


@pytest.mark.django_db
def test_record_stores_the_meta_it_is_given() -> None:
    record("user.created", actor="root", meta=RequestMeta("192.0.2.1", "ua", "rid-7"))
    row = AuditEvent.objects.get(event="user.created")
    assert (row.ip, row.user_agent, row.request_id) == ("192.0.2.1", "ua", "rid-7")
