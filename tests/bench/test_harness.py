"""``make bench`` measures what ``make run`` ships, and rewrites only its README section.

Nothing here is timed: these check the harness's wiring (the server command, the peer's pin,
the README table built from results), not performance.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from bench import readme, report
from bench.load import SERVE
from bench.report import verdict
from bench.run import Target

ROOT = Path(__file__).resolve().parents[2]


def _recipe(makefile: str, target: str) -> str:
    match = re.search(rf"^{target}:.*\n((?:\t.*\n|.*\\\n)+)", makefile, re.MULTILINE)
    assert match, f"no {target} target"
    return match.group(1)


def test_make_run_run_prod_and_the_bench_start_the_same_server():
    makefile = (ROOT / "Makefile").read_text()
    serve = re.search(r"^SERVE = (.+)$", makefile, re.MULTILINE)
    assert serve is not None
    assert serve.group(1).split() == ["$(VENV)/bin/" + SERVE[0], *SERVE[1:]]
    for target in ("run", "run-prod"):
        assert "$(SERVE)" in _recipe(makefile, target)
        assert "gunicorn -c" not in _recipe(makefile, target)  # no second spelling of it


def test_the_peer_is_pinned_to_one_version_and_locked():
    package = json.loads((ROOT / "bench/peer/package.json").read_text())
    lock = json.loads((ROOT / "bench/peer/package-lock.json").read_text())
    pinned = package["dependencies"]["oidc-provider"]
    assert re.fullmatch(r"9\.\d+\.\d+", pinned)
    assert lock["packages"]["node_modules/oidc-provider"]["version"] == pinned
    assert lock["packages"][""]["dependencies"] == package["dependencies"]


def _results(mode: str, cc_ratio: float, errors: int = 0) -> dict:
    def row(label: str, req_s: float, ratio: float, status: int = 0, **extra: object) -> dict:
        return {
            "label": label,
            "note": "",
            "available": True,
            "req_s": req_s,
            "ratio": ratio,
            "p99_ms": 9.5,
            "cpu_us_per_request": 410.0,
            "errors": {"connect": 0, "read": 0, "write": 0, "status": status, "timeout": 0},
            **extra,
        }

    met = cc_ratio >= 0.8 and not errors
    bar = {"min_ratio": 0.8, "max_p99_ms": 25, "min_peer_ratio": 0.85, "met": met}
    return {
        "machine": {
            "mode": mode,
            "date": "2026-12-02T16:40:00+00:00",
            "commit": "abc1234",
            "nproc": 2,
            "cpu_model": "AMD EPYC",
            "kernel": "6.18",
            "python": "3.11.7",
            "loadavg_1m_at_start": 3.0,
            "loadavg_1m_at_end": 4.0,
        },
        "settings": {
            "duration_s": 5,
            "rounds": 3,
            "connections": 16,
            "threads": 2,
            "server": {
                "command": " ".join(SERVE),
                "worker_class": "authserver.http_worker.BufferedThreadWorker",
                "workers": 5,
                "threads": 4,
                "keepalive_s": 5,
            },
            "peer": "node-oidc-provider 9.13.3",
        },
        "targets": {
            "ceiling": row("Ceiling", 2400, 1.0),
            "token_client_credentials": row(
                "Token: client credentials",
                2400 * cc_ratio,
                cc_ratio,
                status=errors,
                peer_ratio=0.9,
                bar=bar,
            ),
            "api_key": {"label": "Introspection: API key", "available": False, "reason": "absent"},
        },
    }


def test_the_readme_table_has_a_column_group_per_mode_and_says_what_missed(tmp_path):
    (tmp_path / "results-sqlite.json").write_text(json.dumps(_results("sqlite", 0.82)))
    missed = _results("postgresql+redis", 0.61, errors=3)
    (tmp_path / "results-postgresql-redis.json").write_text(json.dumps(missed))
    text = readme.section(readme.load(tmp_path), "16:50 up 1:30, load average: 3.1")
    lines = text.splitlines()
    assert lines[0].startswith("| Path | SQLite req/s |")
    assert "PostgreSQL + Redis req/s" in lines[0]
    cc = next(line for line in lines if line.startswith("| Token: client credentials |"))
    assert cc.split(" | ")[1:7] == ["1,968", "0.82", "0.90", "9.5", "410", "met"]
    assert "| 1,464 | 0.61 | 0.90 | 9.5 | 410 | MISSED |" in cc
    assert "| Introspection: API key | absent |" in text
    assert "SQLite: 2026-12-02T16:40:00+00:00, commit abc1234" in text
    assert "5 × BufferedThreadWorker (4 threads" in text
    assert "0 errors in all; bar met on every row." in text
    assert (
        "3 errors in all; bar missed: Token: client credentials: "
        + verdict(missed["targets"]["token_client_credentials"])
        in text
    )
    assert "`uptime` when the table was written: 16:50 up 1:30" in text
    assert "busy with other work during the SQLite and PostgreSQL + Redis run" in text


def test_only_the_section_between_the_markers_is_rewritten(tmp_path):
    (tmp_path / "results-sqlite.json").write_text(json.dumps(_results("sqlite", 0.9)))
    page = tmp_path / "README.md"
    page.write_text(f"# Title\n\nBefore.\n\n{readme.BEGIN}\nold table\n{readme.END}\n\nAfter.\n")
    assert readme.update(page, tmp_path)
    text = page.read_text()
    assert "old table" not in text
    assert text.startswith("# Title\n\nBefore.\n\n" + readme.BEGIN + "\n| Path | SQLite req/s |")
    assert text.endswith(readme.END + "\n\nAfter.\n")
    assert not readme.update(page, tmp_path / "none")  # no results: nothing to write


def test_the_project_readme_has_the_markers_once():
    text = (ROOT / "README.md").read_text()
    assert text.count(readme.BEGIN) == 1
    assert text.count(readme.END) == 1
    assert text.index(readme.BEGIN) < text.index(readme.END)


def _run(req_s: float, server_us: float, wrk_us: float) -> dict:
    return {
        "requests": int(req_s * 5),
        "duration_us": 5_000_000,
        "latency_us": {"mean": 2000, "percentiles": {"50": 1800, "99": 9000}},
        "errors": dict.fromkeys(("connect", "read", "write", "status", "timeout"), 0),
        "peak_rss_mib": [100, 101],
        "cpu_us_per_request": server_us,
        "client_cpu_us_per_request": wrk_us,
    }


def test_each_ratio_of_the_bar_is_also_said_as_the_cpu_it_leaves_the_server():
    # the ceiling's median rounds: 240 µs of server and 70 µs of wrk CPU per request keep the
    # machine busy; at half its rate a request may cost 620 µs in all, this row's wrk takes 80
    ceiling = Target("ceiling", "Ceiling", None, runs=[_run(6000, 230, 70), _run(6000, 240, 60)])
    refresh = Target(
        "token_refresh", "Token: refresh", None, min_ratio=0.5, runs=[_run(400, 3400, 80)]
    )
    refresh.ceiling_req_s.append(6000)
    results = report.summarise(
        machine=_results("sqlite", 0.5)["machine"],
        settings=_results("sqlite", 0.5)["settings"],
        targets=[ceiling, refresh],
        token_scaling=[],
        role_scaling=[],
    )
    row = results["targets"]["token_refresh"]
    assert row["client_cpu_us_per_request"] == 80
    assert row["bar"]["cpu_budget_us"] == (240 + 70) / 0.5 - 80  # each the median round's
    assert not row["bar"]["met"]
    assert (
        "CPU µs per request the bar's ratio leaves the server (with the database) / spent: "
        "Token: refresh 540 / 3,400." in readme.section([("SQLite", results)])
    )
