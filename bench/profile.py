"""CPU cost of each hot path inside one process: ``make bench-profile``.

Calls the production WSGI application (the same ``authserver.wsgi.application`` gunicorn
serves, so the machine handler and its middleware) with a prepared request, many times, and
reports the process CPU time per request and its ratio to the ceiling view. Unlike ``make
bench`` this does not depend on how busy the machine is, so it is the measure to compare two
commits with; ``--profile NAME`` prints where that target's time goes (cProfile).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import time
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


def call(application: Any, spec: tuple[str, str, str, dict[str, str]]) -> bytes:
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


def targets(creds: fixtures.Credentials, application: Any) -> dict[str, tuple]:
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
    if creds.api_key:
        specs["introspect_api_key"] = (
            "POST",
            "/o/introspect/",
            urlencode({"token": creds.api_key}),
            {**form, "Authorization": rs},
        )
    return specs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400, help="requests per batch")
    parser.add_argument("--profile", default="", help="print a cProfile of this target")
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    mode = bench_environment(8000)
    os.environ["ISSUER_URL"] = "http://127.0.0.1:8000"

    import django

    django.setup()
    reset_database()
    creds = fixtures.apply_config(
        fixtures.bench_config(fixtures.available_sections()), OUT / "config.yaml"
    )
    from authserver.wsgi import application

    specs = targets(creds, application)
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
