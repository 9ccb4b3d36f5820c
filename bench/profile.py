"""CPU cost of each hot path inside one process: ``make bench-profile``.

Calls the production WSGI application (the same ``authserver.wsgi.application`` gunicorn
serves, so the machine handler and its middleware) with a prepared request, many times, and
reports the process CPU time per request and its ratio to the ceiling view. Unlike ``make
bench`` this does not depend on how many requests the machine serves at once; ``--profile NAME``
prints where that target's time goes (cProfile).

``--instructions`` (``make bench-instructions``) counts machine instructions per request instead,
under valgrind's callgrind: several times slower, but the same count on every run whatever else
the machine does (CPU time on a shared virtual machine can swing by half), so it is the measure
to compare two commits with.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import operator
import os
import pstats
import re
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench import fixtures
from bench.run import OUT, bench_environment, reset_database

FORM = "application/x-www-form-urlencoded"


def environ(method: str, path: str, body: str, headers: dict[str, str]) -> dict[str, Any]:
    raw = body.encode()
    env: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(raw),
        "CONTENT_LENGTH": str(len(raw)),
    }
    for name, value in headers.items():
        key = name.upper().replace("-", "_")
        env[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"] = value
    return env


class Chain:
    """A write target: each request presents a credential only it may use (a code, or the
    refresh token the previous answer rotated to), so no two requests repeat one."""

    def __init__(self, spec: Any, credentials: list[str], follow: str = "") -> None:
        self.spec, self.credentials, self.follow = spec, credentials, follow

    def next(self) -> tuple[str, str, str, dict[str, str]]:
        return self.spec(self.credentials.pop())

    def answered(self, body: bytes) -> None:
        if self.follow:
            self.credentials.append(json.loads(body)[self.follow])


def call(application: Any, spec: Any) -> bytes:
    if isinstance(spec, Chain):
        body = call(application, spec.next())
        spec.answered(body)
        return body
    statuses: list[str] = []

    def start_response(status: str, headers: list[Any], exc_info: Any = None) -> None:
        statuses.append(status)

    result = application(environ(*spec), start_response)
    body = b"".join(result)
    if hasattr(result, "close"):
        result.close()
    if not statuses[0].startswith("200"):
        raise RuntimeError(f"{spec[1]} answered {statuses[0]}: {body[:200]!r}")
    return body


def cpu_per_call(application: Any, spec: tuple[str, str, str, dict[str, str]], n: int) -> float:
    """Microseconds of process CPU per request, the best of three batches."""
    for _ in range(min(50, n)):
        call(application, spec)
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        for _ in range(n):
            call(application, spec)
        best = min(best, (time.process_time() - start) / n * 1e6)
    return best


def targets(creds: fixtures.Credentials, application: Any, requests: int) -> dict[str, Any]:
    m2m = fixtures.basic("bench-m2m", creds.secrets["bench-m2m"])
    rs = fixtures.basic("bench-rs", creds.secrets["bench-rs"])
    form = {"Content-Type": FORM}
    token_request = (
        "POST",
        "/o/token/",
        "grant_type=client_credentials&scope=api%3Aread",
        {**form, "Authorization": m2m},
    )
    access_token = json.loads(call(application, token_request))["access_token"]
    evaluation = (
        '{"subject": {"type": "user", "id": "bench-user"}, "action": {"name": "GET"}, '
        '"resource": {"type": "route", "id": "/api/c0/l0/orders/42"}}'
    )
    specs = {
        "ceiling": ("GET", "/bench/ceiling", "", {}),
        "token_client_credentials": token_request,
        "introspect_jwt": (
            "POST",
            "/o/introspect/",
            urlencode({"token": access_token}),
            {**form, "Authorization": rs},
        ),
        "authzen_evaluation": (
            "POST",
            "/access/v1/evaluation",
            evaluation,
            {"Content-Type": "application/json", "Authorization": rs},
        ),
        "jwks": ("GET", "/o/jwks/", "", {}),
    }
    web = {**form, "Authorization": fixtures.basic("bench-web", creds.secrets["bench-web"])}
    specs["token_refresh"] = Chain(
        lambda token: (
            "POST",
            "/o/token/",
            urlencode({"grant_type": "refresh_token", "refresh_token": token}),
            web,
        ),
        [seed_refresh_token()],
        follow="refresh_token",
    )
    verifier = secrets.token_urlsafe(48)
    specs["token_code_exchange"] = Chain(
        lambda code: (
            "POST",
            "/o/token/",
            urlencode(
                {
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": fixtures.REDIRECT_URI,
                    "code_verifier": verifier,
                }
            ),
            web,
        ),
        seed_codes(verifier, 50 + 4 * requests),  # the warm-up, three batches and a profile
    )
    if creds.api_key:
        specs["introspect_api_key"] = (
            "POST",
            "/o/introspect/",
            urlencode({"token": creds.api_key}),
            {**form, "Authorization": rs},
        )
    return specs


def _signed_in(**context: Any) -> Any:
    """A sign-in context of the bench user at the bench web app."""
    from django.utils import timezone

    from accounts.models import User
    from oauth.models import AuthContext, Client

    return AuthContext.objects.create(
        user=User.objects.get(username="bench-user"),
        client=Client.objects.get(client_id="bench-web"),
        auth_time=timezone.now(),
        amr=["pwd"],
        **context,
    )


def seed_refresh_token() -> str:
    """A refresh token of the bench user, as a code exchange leaves it (its family's sign-in
    context, a live access token), written directly: the target rotates it from there."""
    import uuid
    from datetime import timedelta

    from django.utils import timezone
    from oauth2_provider.models import AccessToken, RefreshToken, set_token_value

    family = uuid.uuid4()
    context = _signed_in(token_family=family)
    access = AccessToken(
        user=context.user,
        application=context.client,
        scope="openid offline_access",
        expires=timezone.now() + timedelta(hours=1),
    )
    set_token_value(access, secrets.token_urlsafe(32))
    access.save()
    token = secrets.token_urlsafe(32)
    refresh = RefreshToken(
        user=context.user, application=context.client, access_token=access, token_family=family
    )
    set_token_value(refresh, token)
    refresh.save()
    return token


def seed_codes(verifier: str, count: int) -> list[str]:
    """``count`` authorization codes of the bench user (PKCE S256 of ``verifier``), stored as
    the authorization endpoint stores them."""
    import base64
    import hashlib
    from datetime import timedelta

    from django.utils import timezone
    from oauth2_provider.models import Grant

    from oauth.codes import code_digest

    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    codes = [secrets.token_urlsafe(32) for _ in range(count)]
    for code in codes:
        context = _signed_in()
        context.grant = Grant.objects.create(
            application=context.client,
            user=context.user,
            code=code_digest(code),
            expires=timezone.now() + timedelta(hours=1),
            redirect_uri=fixtures.REDIRECT_URI,
            scope="openid offline_access",
            code_challenge=challenge.rstrip(b"=").decode(),
            code_challenge_method="S256",
        )
        context.save()
    return codes


# Measured loops run inside this C function, so callgrind collects exactly them
# (--toggle-collect) and writes one profile per target (--dump-after).
MARKER = "_operator_call"


def count_instructions(requests: int) -> int:
    """Run this module under callgrind and print instructions per request of each target."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        child = subprocess.run(  # noqa: S603
            [  # noqa: S607  (valgrind from PATH, like wrk)
                "valgrind",
                "--tool=callgrind",
                "--collect-atstart=no",
                f"--toggle-collect={MARKER}",
                f"--dump-after={MARKER}",
                f"--callgrind-out-file={out}",
                sys.executable,
                "-m",
                "bench.profile",
                "--counted",
                f"--requests={requests}",
            ],
            cwd=Path(__file__).resolve().parent.parent,
            env={**os.environ, "PYTHONHASHSEED": "0"},  # the same dict layouts every run
            capture_output=True,
            text=True,
            check=False,
        )
        lines = child.stdout.splitlines()
        names = [line.split()[1] for line in lines if line.startswith("TARGET ")]
        dumps = sorted(Path(tmp).glob("callgrind.out.*"), key=lambda p: int(p.suffix[1:]))
        if child.returncode or len(dumps) != len(names):
            sys.stderr.write(child.stdout[-2000:] + child.stderr[-2000:])
            return 1
        counts = {}
        for name, dump in zip(names, dumps, strict=True):
            totals = re.search(r"^totals: (\d+)", dump.read_text(), re.MULTILINE)
            counts[name] = int(totals.group(1)) / requests if totals else float("nan")
    print(f"{lines[0]}; instructions per request (callgrind)")
    for name, count in counts.items():
        print(f"{name:28} {count / 1000:9.0f} k   {counts['ceiling'] / count:5.2f}× ceiling")
    return 0


def counted_loops(application: Any, specs: dict[str, tuple], requests: int) -> None:
    """The child under callgrind: each target warmed up, then ``requests`` calls in the marker."""
    for name, spec in specs.items():
        for _ in range(50):
            call(application, spec)
        print(f"TARGET {name}", flush=True)
        gc.collect()  # each loop starts with the same garbage
        operator.call(lambda spec=spec: [call(application, spec) for _ in range(requests)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400, help="requests per batch")
    parser.add_argument("--profile", default="", help="print a cProfile of this target")
    parser.add_argument(
        "--instructions", action="store_true", help="count instructions under callgrind"
    )
    parser.add_argument("--counted", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.instructions:
        return count_instructions(args.requests)
    OUT.mkdir(parents=True, exist_ok=True)
    # the counted child has its own database, so it may run beside make bench-profile
    mode = bench_environment(8000, OUT / ("counted.sqlite3" if args.counted else "bench.sqlite3"))
    os.environ["ISSUER_URL"] = "http://127.0.0.1:8000"

    import django

    django.setup()
    reset_database()
    creds = fixtures.apply_config(  # no sign-in users: their Argon2 hashes under valgrind
        fixtures.bench_config(fixtures.available_sections(), sign_in_users=0), OUT / "config.yaml"
    )
    from authserver.wsgi import application

    specs = targets(creds, application, args.requests)
    if args.counted:
        print(f"mode {mode}", flush=True)
        counted_loops(application, specs, args.requests)
        return 0
    print(f"mode {mode}; process CPU per request, best of 3 batches of {args.requests}")
    ceiling = cpu_per_call(application, specs["ceiling"], args.requests)
    for name, spec in specs.items():
        micros = ceiling if name == "ceiling" else cpu_per_call(application, spec, args.requests)
        print(f"{name:28} {micros:9.1f} µs  {ceiling / micros:5.2f}× ceiling")
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.requests):
            call(application, specs[args.profile])
        profiler.disable()
        stats = pstats.Stats(profiler, stream=sys.stdout)
        stats.sort_stats("cumulative").print_stats(45)
        stats.sort_stats("tottime").print_stats(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
