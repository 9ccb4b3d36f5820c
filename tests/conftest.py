"""Shared fixtures: factories for clients and users, a signed-in browser, cache resets."""

from __future__ import annotations

import base64
import importlib
import re
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import hypothesis
import pytest
from django.core.cache import cache, caches

from accounts import services as account_services
from core import fetch, generations
from core.actors import APPLY
from core.cache import DatabaseCache
from oauth import clienttokens, keys
from oauth import services as client_services
from tests.mailbox import mailbox, smtp_server  # noqa: F401 (fixtures)

# Property tests are not timed (performance is ``make bench``): Hypothesis's 200 ms deadline
# per example failed them on a loaded machine ("Unreliable test timings").
hypothesis.settings.register_profile("authserver", deadline=None)
hypothesis.settings.load_profile("authserver")

PASSWORD = "correct horse battery staple"
# What the project ships (tests/settings.py makes hashing cheap for every other test).
SHIPPED_ARGON2 = {"ARGON2_MEMORY_KIB": 19456, "ARGON2_TIME_COST": 2, "ARGON2_PARALLELISM": 1}
REDIRECT_URI = "https://app.example.com/callback"


def _is_slow(item: pytest.Item) -> bool:
    return any(item.iter_markers("live")) or any(item.iter_markers("browser"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test on pytest-django's live server is a live test and one driving chromium a browser
    test (``make test-fast`` leaves both out; a ``pytestmark`` in a conftest marks nothing).

    Under pytest-xdist the slow (live and browser) modules run first: ``--dist worksteal``
    hands each of the n workers one contiguous nth of this list, so each share starts with its
    part of the slow modules (dealt out largest first, each module kept whole) and ends with
    quick tests another worker can steal, rather than one worker finishing on a queue of
    servers the others cannot help with."""
    for item in items:
        names = getattr(item, "fixturenames", ())
        if "live_server" in names:
            item.add_marker(pytest.mark.live)
        if "chromium" in names:
            item.add_marker(pytest.mark.browser)
    # a worker's own options say ``-n 0``: the count is in what the controller handed it
    workers = getattr(config, "workerinput", {}).get("workercount", 0)
    if workers < 2:
        return
    modules: dict[str, list[pytest.Item]] = {}
    for item in items:
        modules.setdefault(item.nodeid.split("::")[0], []).append(item)
    slow = sorted(
        (tests for tests in modules.values() if any(map(_is_slow, tests))), key=len, reverse=True
    )
    quick = [item for tests in modules.values() if not any(map(_is_slow, tests)) for item in tests]
    shares: list[list[pytest.Item]] = [[] for _ in range(workers)]
    for tests in slow:  # the larger share so far goes to the share with fewer slow tests
        min(shares, key=len).extend(tests)
    ordered: list[pytest.Item] = []
    for n, share in enumerate(shares):  # worksteal's shares: the rest split evenly in turn
        size = (len(items) - len(ordered)) // (workers - n)
        fill = max(0, size - len(share))
        ordered += [*share, *quick[:fill]]
        quick = quick[fill:]
    items[:] = [*ordered, *quick]


# The rows data migrations write (module, function): a transactional test ends by flushing
# every table, so these are written again after one. Without it a test that ran after a
# transactional one on the same xdist worker (worksteal hands a worker tests from the other's
# queue once its own, transactional ones last, are done) found no built-in management API.
DATA_MIGRATIONS = [("oauth.migrations.0004_apis_and_assertions", "create_management_api")]
# Data migrations whose rows tests start without (``django_db_setup`` below removes them), so a
# flush needs nothing written again.
DATA_MIGRATIONS_REMOVED = [
    ("roles.migrations.0003_builtin_roles", "create"),
    ("roles.migrations.0005_builtin_group_permissions", "grant"),
]


def _is_transactional(item: pytest.Item) -> bool:
    from pytest_django.fixtures import validate_django_db

    marker = item.get_closest_marker("django_db")
    if marker and validate_django_db(marker)[0]:  # (transaction, reset_sequences, ...)
        return True
    return bool({"transactional_db", "live_server"} & set(getattr(item, "fixturenames", ())))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Generator:
    """After a transactional test's flush, the data migrations' rows are written again for
    the tests that follow. After a process's last test there are none, and its test
    databases are gone already (the session's fixtures end with that test's teardown: the
    connection names the real database again)."""
    result = yield
    if _is_transactional(item) and nextitem is not None:
        from django.apps import apps
        from pytest_django.plugin import blocking_manager_key

        with item.config.stash[blocking_manager_key].unblock():
            for module, function in DATA_MIGRATIONS:
                getattr(importlib.import_module(module), function)(apps, None)
    return result


@pytest.fixture(autouse=True, scope="session")
def _celery_runs_in_process():
    """Tasks run eagerly in tests in both modes (with REDIS_URL the app would queue them for a
    worker); the tests that need a real worker start one themselves."""
    from authserver.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's test databases, then (its documented way to adjust them) without the
    built-in roles: tests start from an empty role table, as before roles/migrations/0003 made
    them (tests name their own ``auditor``, ``superadmin``...); ``builtin_roles`` puts them
    back for the tests about them."""
    from roles.models import Role

    with django_db_blocker.unblock():
        Role.objects.filter(builtin=True).delete()


@pytest.fixture
def builtin_roles(db):
    """The built-in roles as roles/migrations/0003 makes them and 0005 extends them."""
    import importlib

    from django.apps import apps

    importlib.import_module("roles.migrations.0003_builtin_roles").create(apps, None)
    importlib.import_module("roles.migrations.0005_builtin_group_permissions").grant(apps, None)


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language: Django's locale middleware leaves the last
    request's language active in the thread (a test after one in German rendered German)."""
    from django.utils import translation

    translation.deactivate()


@pytest.fixture(autouse=True)
def _audit_rows_at_once(settings):
    """Deferred audit events are stored at once, in the test's transaction (the batching
    itself is tested in tests/audit/test_batch.py), and cache counters are read on every request
    (a test's transaction never commits, so no change signal would fire; the signals are tested
    in tests/oauth/test_generations.py and by every live server)."""
    settings.AUDIT_BATCH_EVENTS = 1
    settings.GENERATIONS_SIGNAL = "poll"


@pytest.fixture(autouse=True)
def _fresh_caches():
    """Tests roll the database back, so per-process caches must not outlive a test (nor
    Redis's entries; the embedded mode's cache is in the database and rolls back with it)."""
    generations.clear_all()
    keys.clear_cache()
    clienttokens.clear_cache()
    fetch.clear_cache()
    if not isinstance(caches["default"], DatabaseCache):
        cache.clear()
    yield
    generations.clear_all()
    keys.clear_cache()
    clienttokens.clear_cache()


@pytest.fixture(scope="session")
def _signing_key_pool():
    """Private keys made once per session: a 2048-bit RSA key takes ~50 ms to generate, and
    most tests sign tokens with a fresh database (so fresh keys). Each algorithm's pool is
    larger than any test's rotations."""
    from oauth.keys import ALGORITHMS

    real = keys.new_private_key
    return {algorithm: [real(algorithm) for _ in range(4)] for algorithm in ALGORITHMS}


@pytest.fixture(autouse=True)
def _pooled_signing_keys(_signing_key_pool, monkeypatch):
    """Within a test every new key is distinct (rotation tests rotate), across tests the
    pool's keys come back (each test's database starts without keys)."""
    drawn = {algorithm: iter(pool) for algorithm, pool in _signing_key_pool.items()}
    monkeypatch.setattr(keys, "new_private_key", lambda algorithm: next(drawn[algorithm]))


@pytest.fixture
def shipped_argon2(settings):
    """Password hashing at the shipped Argon2id parameters instead of the test preset's."""
    for name, value in SHIPPED_ARGON2.items():
        setattr(settings, name, value)


class Clock:
    """The project's one clock (``core.clock``) stood still: ``now`` is the UNIX time every app
    reads, ``monotonic()`` moves with it; tests ``advance`` it instead of sleeping."""

    def __init__(self, now: float) -> None:
        self.now = now
        self._monotonic_offset = time.monotonic() - now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def set(self, now: float) -> None:
        self.now = now

    def monotonic(self) -> float:
        return self.now + self._monotonic_offset


@pytest.fixture
def clock(monkeypatch) -> Clock:
    """``core.clock`` frozen at the real time the test starts (every app's clock seam)."""
    from core import clock as core_clock

    frozen = Clock(time.time())
    monkeypatch.setattr(core_clock, "now", lambda: frozen.now)
    monkeypatch.setattr(core_clock, "monotonic", frozen.monotonic)
    return frozen


@pytest.fixture
def rate_limit_clock(clock) -> Clock:
    """Fixed-window rate limits (``core.limits.hit``) count in 60 s windows of the
    clock, so a test that fills a window split its requests over two when it ran across a
    minute boundary (seen in CI). Here the clock stands still mid-window; the cache is emptied
    between tests, so no count carries over."""
    clock.set(clock.now // 60 * 60 + 30)
    return clock


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def chromium():
    """Debian's headless chromium, started once per test module (a launch costs about a CPU
    second and, on a loaded machine, many more of wall time); each test gets a fresh context
    of it (``browser.new_context``: cookies, storage and authenticators of its own). Skipped
    with a reason when chromium or Playwright is missing; never ``playwright install``.

    Playwright's sync API keeps an event loop running in this thread while it is open, so
    Django's async-safety check is off for the module (the tests' ORM calls are plain
    synchronous code all the same); modules without a browser never see the loop."""
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with pytest.MonkeyPatch.context() as patch, sync_api.sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def make_client(db):
    """Factory: ``make_client(**spec)`` -> (Client, secret) using the same service as apply."""

    def make(**spec: Any):
        spec.setdefault("type", "confidential")
        spec.setdefault("grant_types", ["client_credentials"])
        return client_services.client_create(actor=APPLY, spec=spec)

    return make


def forget_seeding() -> None:
    """Drop the audit events of a fixture's set-up: its users, roles and clients are made
    through the audited domain services as ``manage.py apply`` makes them (actor ``apply``),
    and a test about the audit log reads only what its own requests wrote."""
    from audit.models import AuditEvent

    AuditEvent.objects.filter(actor=APPLY.audit_name).delete()


@pytest.fixture
def make_user(db):
    def make(username: str = "alice", password: str = PASSWORD, **fields: Any):
        fields.setdefault("email", f"{username}@example.com")
        return account_services.user_create(
            actor=APPLY, username=username, password=password, **fields
        )

    return make


@pytest.fixture
def web_client(make_client):
    """A confidential OIDC web app: code + refresh, consent skipped."""
    return make_client(
        client_id="webapp",
        name="Web App",
        grant_types=["authorization_code", "refresh_token"],
        redirect_uris=[REDIRECT_URI],
        scopes=["openid", "profile", "email", "offline_access"],
        skip_consent=True,
    )


@pytest.fixture
def make_api(db):
    """Factory: ``make_api(identifier, client=None, **fields)`` -> a registered ``Api`` row."""
    from oauth.models import Api

    def make(identifier: str, client=None, **fields: Any):
        fields.setdefault("name", identifier)
        return Api.objects.create(identifier=identifier, client=client, **fields)

    return make


RS1_API = "https://rs1.example.test/"


@pytest.fixture
def resource_server(make_client, make_api):
    """A confidential client that introspects tokens: the client of the registered API
    ``RS1_API``, so it learns about tokens for that API and about audience-less ones."""
    rs = make_client(client_id="rs1", name="Resource server")
    make_api(RS1_API, client=rs[0], name="RS1 API")
    return rs


def basic_auth(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def introspect(http, resource_server: tuple, token: str) -> dict:
    """Introspect ``token`` as the resource server ``(client, secret)`` does (RFC 7662)."""
    rs_client, secret = resource_server
    response = http.post(
        "/o/introspect/",
        {"token": token},
        HTTP_AUTHORIZATION=basic_auth(rs_client.client_id, secret),
    )
    assert response.status_code == 200, response.content
    return response.json()


def login(browser, username: str, password: str = PASSWORD):
    """Sign in through the real login form (CSRF token and all) with Django's test client."""
    page = browser.get("/accounts/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    return browser.post(
        "/accounts/login/",
        {"username": username, "password": password, "csrfmiddlewaretoken": token},
    )


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def pkce_pair() -> tuple[str, str]:
    """A fresh (verifier, S256 challenge) pair, RFC 7636 §4.1/§4.2."""
    import hashlib
    import secrets

    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorize_params(client_id: str, challenge: str | None, **extra: str) -> dict[str, str]:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid profile email offline_access",
        "state": "st-123",
        "nonce": "n-456",
    }
    if challenge is not None:
        params.update(code_challenge=challenge, code_challenge_method="S256")
    params.update(extra)
    return {k: v for k, v in params.items() if v is not None}


def code_grant(http, client_obj, secret: str, *, scope: str, **headers: str) -> dict:
    """A signed-in ``http`` runs /o/authorize/ for ``client_obj`` (consent skipped) and redeems
    the code as the client, with ``headers`` on the token request (a DPoP proof); the tokens."""
    verifier, challenge = pkce_pair()
    params = authorize_params(client_obj.client_id, challenge, scope=scope)
    code = query_of(http.get("/o/authorize/", params)["Location"])["code"]
    response = http.post(
        "/o/token/",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
        HTTP_AUTHORIZATION=basic_auth(client_obj.client_id, secret),
        **headers,
    )
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def signed_in(client, make_user):
    """Django's test client, signed in as alice through the login form."""
    user = make_user("alice")
    login(client, "alice")
    client.user = user
    return client


@pytest.fixture
def code_flow(signed_in, web_client):
    """Run /o/authorize/ and the code exchange; returns a helper with the pieces."""

    class Flow:
        client_obj, secret = web_client
        browser = signed_in

        def authorize(self, challenge: str | None = None, **extra: str):
            params = authorize_params(self.client_obj.client_id, challenge, **extra)
            return self.browser.get("/o/authorize/", params)

        def code(self, **extra: str) -> tuple[str, str]:
            verifier, challenge = pkce_pair()
            response = self.authorize(challenge, **extra)
            assert response.status_code == 302, response.content
            return query_of(response["Location"])["code"], verifier

        def exchange(self, code: str, verifier: str | None, **extra: str):
            data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
            if verifier is not None:
                data["code_verifier"] = verifier
            data.update(extra)
            return self.browser.post(
                "/o/token/",
                data,
                HTTP_AUTHORIZATION=basic_auth(self.client_obj.client_id, self.secret),
            )

        def tokens(self, **extra: str) -> dict:
            code, verifier = self.code(**extra)
            response = self.exchange(code, verifier)
            assert response.status_code == 200, response.content
            return response.json()

    return Flow()
