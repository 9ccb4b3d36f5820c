"""Every list of the management API pages alike, and bad ``page``/``page_size`` are a 400.

The lists are read from the OpenAPI schema (every GET answering a list), so a list added later
is tested without being named here; each is asked for through HTTP.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from drf_spectacular.generators import SchemaGenerator

from core.actors import APPLY
from mgmt.api.pagination import MAX_PAGE_SIZE
from roles import group_services
from tests.api.conftest import assert_problem, error_fields

pytestmark = pytest.mark.django_db

PAGE_KEYS = {"count", "next", "previous", "results"}
# What the path parameters of the lists stand for (a list under a new kind of owner must say).
OWNERS = {"username": "alice", "client_id": "svc", "name": "support"}
BAD = [
    ("page", "abc"),
    ("page", "0"),
    ("page", "-1"),
    ("page", "1.5"),
    ("page", "１"),  # a full-width digit: int() takes it, a whole number in ASCII it is not
    ("page", "99999"),  # past the end
    ("page", "9" * 40),
    ("page_size", "0"),
    ("page_size", "-5"),
    ("page_size", "ten"),
    ("page_size", str(MAX_PAGE_SIZE + 1)),
    ("page_size", "100000"),
]


def _schema_gets() -> dict[str, dict]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {path: ops["get"] for path, ops in schema["paths"].items() if "get" in ops}


def _answers_a_list(operation: dict) -> bool:
    body = operation["responses"]["200"]["content"]["application/json"]["schema"]
    return body.get("type") == "array" or body.get("$ref", "").endswith("List")


LISTS = sorted(path for path, operation in _schema_gets().items() if _answers_a_list(operation))


@pytest.fixture
def owners(make_user, make_client) -> None:
    make_user(OWNERS["username"])
    make_client(client_id=OWNERS["client_id"])
    group_services.group_create(actor=APPLY, name=OWNERS["name"])


def _url(path: str) -> str:
    return path.format(**OWNERS)


def test_the_schema_lists_the_lists_and_documents_each_as_a_page():
    assert len(LISTS) >= 13
    gets = _schema_gets()  # once: a schema generation takes ~0.4 s
    for path in LISTS:
        operation = gets[path]
        body = operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert body["$ref"].startswith("#/components/schemas/Paginated"), path
        parameters = {p["name"]: p["schema"] for p in operation["parameters"] if p["in"] == "query"}
        assert parameters["page"]["minimum"] == 1, path
        assert parameters["page_size"] == {"type": "integer", "minimum": 1, "maximum": 100}, path


@pytest.mark.parametrize("path", LISTS)
def test_every_list_answers_a_page(admin, owners, path):
    response = admin.get(f"{_url(path)}?page_size=1")
    assert response.status_code == 200, response.content
    page = response.json()
    assert set(page) == PAGE_KEYS and isinstance(page["results"], list), path
    assert len(page["results"]) <= 1 and page["count"] >= len(page["results"])
    assert admin.get(f"{_url(path)}?page=1").status_code == 200  # page 1 exists even if empty


@pytest.mark.parametrize("path", LISTS)
def test_every_list_refuses_bad_page_parameters_naming_them(admin, owners, path):
    for name, value in BAD:
        response = admin.get(_url(path), QUERY_STRING=urlencode({name: value}))
        problem = assert_problem(response, 400, "validation-error")
        assert set(error_fields(problem)) == {name}, (path, name, value, problem)


def test_a_page_past_the_end_says_how_many_pages_there_are(admin, make_user):
    for n in range(3):
        make_user(f"user{n}")
    count = admin.get("/api/v1/users/").json()["count"]
    pages = -(-count // 2)
    last = admin.get(f"/api/v1/users/?page_size=2&page={pages}").json()
    assert last["next"] is None and last["previous"] and len(last["results"]) in (1, 2)
    problem = assert_problem(
        admin.get(f"/api/v1/users/?page_size=2&page={pages + 1}"), 400, "validation-error"
    )
    assert error_fields(problem) == {"page": [f"Past the end: {pages} page(s) of 2."]}
