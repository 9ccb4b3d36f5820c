"""The README's performance table, regenerated from each mode's latest ``make bench`` results.

``update`` rewrites what stands between ``BEGIN`` and ``END`` in README.md from
``var/bench/results-sqlite.json`` and ``var/bench/results-postgresql-redis.json`` (whichever
exist: run ``make bench`` once per mode, see docs/benchmarks.md); ``python -m bench.readme``
does only that, or prints the section with ``--print``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.report import server_line, verdict  # noqa: E402

BEGIN = "<!-- make bench: table begins (bench/readme.py rewrites it) -->"
END = "<!-- make bench: table ends -->"
MODES = (("sqlite", "SQLite"), ("postgresql-redis", "PostgreSQL + Redis"))


def load(out: Path) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for tag, title in MODES:
        path = out / f"results-{tag}.json"
        if path.exists():
            found.append((title, json.loads(path.read_text())))
    return found


def _number(value: float | None, spec: str) -> str:
    return "" if value is None else format(value, spec)


def section(modes: list[tuple[str, dict[str, Any]]], uptime: str = "") -> str:
    """The table (one group of columns per mode) and a note on each mode's run."""
    names: list[str] = []
    labels: dict[str, str] = {}
    for _, results in modes:
        for name, row in results["targets"].items():
            if name not in labels:
                names.append(name)
                labels[name] = row["label"]
    header = "| Path |"
    rule = "|---|"
    for title, _ in modes:
        header += f" {title} req/s | × ceiling | × peer | p99 ms | CPU µs/req | bar |"
        rule += "--:|--:|--:|--:|--:|---|"
    lines = [header, rule]
    for name in names:
        cells = [labels[name]]
        for _, results in modes:
            row = results["targets"].get(name)
            if row is None or not row["available"]:
                reason = "not run" if row is None else row["reason"]
                cells += [reason, "", "", "", "", ""]
                continue
            bar = verdict(row)
            cells += [
                f"{row['req_s']:,.0f}",
                f"{row['ratio']:.2f}",
                _number(row.get("peer_ratio"), ".2f"),
                f"{row['p99_ms']:.1f}",
                _number(row.get("cpu_us_per_request"), ",.0f"),
                bar.split(" ", 1)[0] if bar else "",
            ]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    for title, results in modes:
        m, s = results["machine"], results["settings"]
        errors = sum(
            sum(row["errors"].values()) for row in results["targets"].values() if row["available"]
        )
        missed = [
            row["label"] + ": " + verdict(row)
            for row in results["targets"].values()
            if row["available"] and row.get("bar") and not row["bar"]["met"]
        ]
        lines.append(
            f"- {title}: {m['date']}, commit {m['commit']}, {m['nproc']} CPUs ({m['cpu_model']}), "
            f"Linux {m['kernel']}, Python {m['python']}; server {server_line(s)}; peer "
            f"{s['peer']}; wrk -t{s['threads']} -c{s['connections']}, {s['rounds']} rounds of "
            f"{s['duration_s']:g} s; load average {m['loadavg_1m_at_start']:.1f} before, "
            f"{m['loadavg_1m_at_end']:.1f} after; {errors} errors in all; bar "
            + ("met on every row." if not missed else "missed: " + "; ".join(missed) + ".")
            + scaling(results)
            + budgets(results)
        )
    busy = [
        title
        for title, results in modes
        if max(results["machine"]["loadavg_1m_at_start"], results["machine"]["loadavg_1m_at_end"])
        > results["machine"]["nproc"]
    ]
    if busy:
        lines.append(
            f"- The machine was busy with other work during the {' and '.join(busy)} run "
            "(load average above its CPU count): req/s, the ratios and p99 carry the neighbours' "
            "noise; CPU µs per request much less. Re-run `make bench-all` on a quiet machine."
        )
    if uptime:
        lines.append(f"- `uptime` when the table was written: {uptime}")
    return "\n".join(lines) + "\n"


def budgets(results: dict[str, Any]) -> str:
    """What each ratio of the bar leaves the server per request, beside what it spent (bench/
    report.py's ``cpu_budget_us``), as a sentence; empty for results without the figures."""
    parts = [
        f"{row['label']} {row['bar']['cpu_budget_us']:,.0f} / {row['cpu_us_per_request']:,.0f}"
        for row in results["targets"].values()
        if row["available"]
        and row.get("bar", {}).get("cpu_budget_us") is not None
        and row.get("cpu_us_per_request") is not None
    ]
    if not parts:
        return ""
    return (
        " CPU µs per request the bar's ratio leaves the server (with the database) / spent: "
        + "; ".join(parts)
        + "."
    )


def scaling(results: dict[str, Any]) -> str:
    """The scaling steps of a run, as a sentence (empty when they were skipped)."""
    parts = []
    for key, what, unit in (
        ("introspection_by_stored_tokens", "introspection of a user's token with", "rows"),
        ("evaluation_by_roles", "AuthZEN with", "roles"),
    ):
        steps = results.get("scaling", {}).get(key) or []
        if steps:
            counts = " / ".join(f"{step[unit]:,}" for step in steps)
            rates = " / ".join(f"{step['req_s']:,.0f}" for step in steps)
            parts.append(
                f"{what} {counts} {'stored tokens' if unit == 'rows' else unit}: {rates} req/s"
            )
    return (" Scale: " + "; ".join(parts) + ".") if parts else ""


def rewrite(text: str, body: str) -> str:
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    return text[:start] + "\n" + body + text[end:]


def uptime() -> str:
    done = subprocess.run(["uptime"], capture_output=True, text=True, check=False)  # noqa: S607
    return done.stdout.strip()


def update(readme: Path, out: Path) -> bool:
    """Rewrite the README's table from the results in ``out``; False when there are none or
    the README has no markers."""
    modes = load(out)
    text = readme.read_text()
    if not modes or BEGIN not in text or END not in text:
        return False
    readme.write_text(rewrite(text, section(modes, uptime())))
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--print", action="store_true", help="print the section, change nothing")
    args = parser.parse_args(argv)
    out = ROOT / "var" / "bench"
    if args.print:
        print(section(load(out), uptime()), end="")
        return 0
    return 0 if update(ROOT / "README.md", out) else 1


if __name__ == "__main__":
    sys.exit(main())
