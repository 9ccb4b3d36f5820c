"""The OpenAPI schema and docs, and Schemathesis over the schema (no 5xx, no violations)."""

from __future__ import annotations

import json
import re

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from authserver.middleware import CONTENT_SECURITY_POLICY
from authserver.wsgi import application

RESOURCES = (
    "/api/v1/users/",
    "/api/v1/users/{username}/",
    "/api/v1/users/{username}/disable/",
    "/api/v1/users/{username}/password/",
    "/api/v1/users/{username}/roles/{role}/",
    "/api/v1/users/{username}/tokens/{token_id}/",
    "/api/v1/users/{username}/sessions/{session_id}/",
    "/api/v1/roles/",
    "/api/v1/roles/{name}/",
    "/api/v1/clients/",
    "/api/v1/clients/{client_id}/secret/",
    "/api/v1/clients/{client_id}/roles/{role}/",
    "/api/v1/apis/",
    "/api/v1/apis/{api_id}/",
    "/api/v1/audit-events/",
    "/api/v1/audit-events/{event_id}/",
)


def test_schema_is_valid_openapi_3(client):
    response = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    # 1 s to import (it compiles the OpenAPI meta-schema): here, not at every worker's collection
    from drf_spectacular.validation import validate_schema

    validate_schema(schema)
    assert schema["openapi"].startswith("3.")
    assert set(RESOURCES) <= set(schema["paths"])
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    problem = schema["paths"]["/api/v1/users/"]["get"]["responses"]["403"]["content"]
    assert "application/problem+json" in problem


def test_docs_page_is_local_and_needs_no_csp_exception(client):
    page = client.get("/api/v1/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert page["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "<style" not in html and "style=" not in html
    sources = re.findall(r"<script([^>]*)>", html)
    assert sources and all('src="/' in attributes for attributes in sources)  # same origin
    assert "http://" not in html and "https://" not in html.replace("https://authserver", "")
    script = client.get("/api/v1/docs/?script=")
    assert script.status_code == 200 and "javascript" in script["Content-Type"]
    for path in re.findall(r'(?:src|href)="(/static/[^"]+)"', html):
        assert client.get(path).status_code == 200, path


# Loaded at collection, through the real WSGI entry point (the schema view needs no database):
# schemathesis.pytest.from_fixture would load it in the one worker that runs the test, but it
# sets Function._nodeid, which pytest 9 no longer has.
# Valid and invalid inputs, a few examples per operation (no exhaustive coverage phase), so
# the suite stays fast; CI can raise max-examples through the same config.
schema = schemathesis.openapi.from_wsgi(
    "/api/v1/schema/",
    application,
    config=SchemathesisConfig.from_dict(
        {
            "phases": {"coverage": {"enabled": False}},
            "generation": {"mode": "all", "max-examples": 5},
        }
    ),
)


@pytest.fixture
def keep_test_connection():
    """The real WSGI handler closes "old" connections at request boundaries, which would close
    the test's own transaction on PostgreSQL; Django's test client unhooks the same signal."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema(case, admin, keep_test_connection):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {admin.token}"},
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
            response_headers_conformance,
        ],
    )
