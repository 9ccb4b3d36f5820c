"""Results of ``make bench``: aggregation over rounds, JSON, a Markdown table, a bar chart."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

ERROR_KINDS = ("connect", "read", "write", "status", "timeout")


def req_per_s(run: dict[str, Any]) -> float:
    """Requests per second; for the sign-in journey, journeys per second."""
    return run.get("journeys", run["requests"]) / (run["duration_us"] / 1e6)


def one_line(run: dict[str, Any]) -> str:
    lat = run["latency_us"]
    errors = sum(run["errors"].values())
    return (
        f"{req_per_s(run):,.0f} req/s, mean {lat['mean'] / 1000:.2f} ms, "
        f"p99 {lat['percentiles']['99'] / 1000:.2f} ms, errors {errors}"
    )


def _aggregate(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean throughput and latency over rounds; p99 is the worst round's (conservative)."""
    rates = [req_per_s(r) for r in runs]
    rss = [max(values) for values in zip(*(r["peak_rss_mib"] for r in runs), strict=False)]
    cpu = _median(r.get("cpu_us_per_request") for r in runs)
    aggregate = {
        "req_s": round(sum(rates) / len(rates), 1),
        "req_s_rounds": [round(r, 1) for r in rates],
        "mean_ms": round(sum(r["latency_us"]["mean"] for r in runs) / len(runs) / 1000, 2),
        "p50_ms": round(max(r["latency_us"]["percentiles"]["50"] for r in runs) / 1000, 2),
        "p99_ms": round(max(r["latency_us"]["percentiles"]["99"] for r in runs) / 1000, 2),
        "requests": sum(r["requests"] for r in runs),
        "errors": {k: sum(r["errors"][k] for r in runs) for k in ERROR_KINDS},
        "peak_rss_mib_per_worker": rss,
        # the median round's: CPU time per request moves far less with the load than req/s
        "cpu_us_per_request": cpu,
        "client_cpu_us_per_request": _median(r.get("client_cpu_us_per_request") for r in runs),
    }
    for key in ("journeys", "journeys_broken", "threads_ran_dry"):
        if any(key in r for r in runs):
            aggregate[key] = sum(r.get(key, 0) for r in runs)
    if aggregate.get("journeys_broken"):  # a journey that did not end in tokens is an error
        aggregate["errors"]["status"] += aggregate["journeys_broken"]
    return aggregate


def _median(values: Any) -> float | None:
    """The median round's value (the upper one of an even count); None when no round has one."""
    present = sorted(v for v in values if v is not None)
    return present[len(present) // 2] if present else None


def cpu_budget_us(ceiling: dict[str, Any], row: dict[str, Any], ratio: float) -> float | None:
    """The server CPU per request at which ``row`` would reach ``ratio`` × the ceiling, on a
    machine the load keeps busy: the ceiling's server and wrk CPU per request over the ratio,
    less this row's own wrk CPU. It includes what the database's processes spend (PostgreSQL
    runs on the same cores), so a row whose server alone spends more cannot meet the ratio on
    this machine. None without the CPU figures."""
    parts = (
        ceiling.get("cpu_us_per_request"),
        ceiling.get("client_cpu_us_per_request"),
        row.get("client_cpu_us_per_request"),
    )
    if any(part is None for part in parts):
        return None
    server, client, own_client = parts
    return round((server + client) / ratio - own_client, 1)


def _bar(target: Any, row: dict[str, Any]) -> dict[str, Any]:
    """The issue's bar for this row and whether it is met (a peer ratio that could not be
    measured is left out of the verdict and said so)."""
    bar: dict[str, Any] = {"min_ratio": target.min_ratio, "max_p99_ms": target.p99_bar_ms}
    met = not any(row["errors"].values())
    if target.min_ratio is not None:
        met = met and row["ratio"] >= target.min_ratio
    if target.p99_bar_ms is not None:
        met = met and row["p99_ms"] <= target.p99_bar_ms
    if target.peer_min_ratio is not None:
        bar["min_peer_ratio"] = target.peer_min_ratio
        if row.get("peer_ratio") is None:
            bar["peer"] = "not measured"
        else:
            met = met and row["peer_ratio"] >= target.peer_min_ratio
    bar["met"] = bool(met)
    return bar


def _scaling_step(run: dict[str, Any], key: str) -> dict[str, Any]:
    return {
        key: run[key],
        "req_s": round(req_per_s(run), 1),
        "mean_ms": round(run["latency_us"]["mean"] / 1000, 2),
        "p50_ms": round(run["latency_us"]["percentiles"]["50"] / 1000, 2),
        "p99_ms": round(run["latency_us"]["percentiles"]["99"] / 1000, 2),
        "errors": sum(run["errors"].values()),
        **{k: run[k] for k in ("seed_seconds", "lookup_us") if k in run},
    }


def summarise(
    *,
    machine: dict[str, Any],
    settings: dict[str, Any],
    targets: list[Any],
    token_scaling: list[dict[str, Any]],
    role_scaling: list[dict[str, Any]],
) -> dict[str, Any]:
    rows: dict[str, Any] = {}
    for target in targets:
        row: dict[str, Any] = {"label": target.label, "note": target.note}
        if target.unavailable or not target.runs:
            row["available"] = False
            row["reason"] = target.unavailable or "not run"
        else:
            row.update(available=True, **_aggregate(target.runs))
            paired = target.ceiling_req_s  # the ceiling runs just before this path's runs
            if paired:
                row["ceiling_req_s"] = round(sum(paired) / len(paired), 1)
                row["ratio"] = round(row["req_s"] / row["ceiling_req_s"], 3)
            else:  # the ceiling itself
                row["ratio"] = 1.0
        rows[target.name] = row
    for target in targets:
        row, other = rows[target.name], rows.get(target.peer)
        if not row["available"]:
            continue
        if other is not None and other["available"]:
            row["peer_ratio"] = round(row["req_s"] / other["req_s"], 3)
        if target.min_ratio is not None or target.p99_bar_ms is not None:
            row["bar"] = _bar(target, row)
        ceiling = rows.get("ceiling")
        if target.min_ratio is not None and ceiling is not None and ceiling["available"]:
            row["bar"]["cpu_budget_us"] = cpu_budget_us(ceiling, row, target.min_ratio)
    return {
        "machine": machine,
        "settings": settings,
        "targets": rows,
        "scaling": {
            "introspection_by_stored_tokens": [_scaling_step(r, "rows") for r in token_scaling],
            "evaluation_by_roles": [_scaling_step(r, "roles") for r in role_scaling],
        },
    }


def _errors(row: dict[str, Any]) -> str:
    errors = row["errors"]
    status = errors["status"]
    socket = sum(v for k, v in errors.items() if k != "status")
    return f"{status} / {socket}"


def server_line(settings: dict[str, Any]) -> str:
    server = settings["server"]
    return (
        f"`{server['command']}`: {server['workers']} × {server['worker_class'].rsplit('.', 1)[-1]}"
        f" ({server['threads']} threads, keep-alive {server['keepalive_s']} s)"
    )


def verdict(row: dict[str, Any]) -> str:
    bar = row.get("bar")
    if not bar:
        return ""
    parts = []
    if bar["min_ratio"] is not None:
        parts.append(f"≥{bar['min_ratio']}×")
    if bar.get("min_peer_ratio") is not None:
        peer = bar.get("peer")
        parts.append(f"≥{bar['min_peer_ratio']}× peer" + (f" {peer}" if peer else ""))
    if bar["max_p99_ms"] is not None:
        parts.append(f"p99 ≤{bar['max_p99_ms']:g} ms")
    parts.append("0 errors")
    return f"{'met' if bar['met'] else 'MISSED'} ({', '.join(parts)})"


def _cell(value: float | None, spec: str) -> str:
    return "" if value is None else format(value, spec)


def markdown(results: dict[str, Any]) -> str:
    m, s = results["machine"], results["settings"]
    lines = [
        f"### {m['mode']}: {m['date']} (commit {m['commit']})",
        "",
        f"{m['nproc']} CPUs ({m['cpu_model']}), Linux {m['kernel']}, Python {m['python']}; "
        f"server {server_line(s)}; peer {s['peer']}; wrk -t{s['threads']} "
        f"-c{s['connections']}, {s['rounds']} interleaved rounds of {s['duration_s']:g} s, each "
        "path right after a ceiling run (its × ceiling is against those); "
        f"load average {m['loadavg_1m_at_start']:.1f} before, {m['loadavg_1m_at_end']:.1f} after.",
        "",
        "| Path | req/s | × ceiling | × peer | mean ms | p99 ms | server CPU µs/req "
        "| errors (≥400 / socket) | peak RSS/process MiB | bar |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for row in results["targets"].values():
        if not row["available"]:
            lines.append(f"| {row['label']} | {row['reason']} | | | | | | | | |")
            continue
        rss = ", ".join(f"{v:.0f}" for v in row["peak_rss_mib_per_worker"])
        lines.append(
            f"| {row['label']} | {row['req_s']:,.0f} | {row['ratio']:.2f} "
            f"| {_cell(row.get('peer_ratio'), '.2f')} | {row['mean_ms']:.2f} "
            f"| {row['p99_ms']:.2f} | {_cell(row.get('cpu_us_per_request'), ',.0f')} "
            f"| {_errors(row)} | {rss} | {verdict(row)} |"
        )
    for key, title, unit in (
        ("introspection_by_stored_tokens", "Introspection by stored access tokens", "rows"),
        ("evaluation_by_roles", "AuthZEN evaluation by roles (10-deep chains)", "roles"),
    ):
        steps = results["scaling"][key]
        if not steps:
            continue
        in_process = all("lookup_us" in step for step in steps)
        lines += [
            "",
            f"{title}:",
            "",
            f"| {unit} | req/s | mean ms | p50 ms | p99 ms | errors |"
            + (" in-process lookup µs |" if in_process else ""),
            "|--:|--:|--:|--:|--:|--:|" + ("--:|" if in_process else ""),
        ]
        for step in steps:
            lines.append(
                f"| {step[unit]:,} | {step['req_s']:,.0f} | {step['mean_ms']:.2f} "
                f"| {step['p50_ms']:.2f} | {step['p99_ms']:.2f} | {step['errors']} |"
                + (f" {step['lookup_us']:.0f} |" if in_process else "")
            )
    notes = [f"- {r['label']}: {r['note']}" for r in results["targets"].values() if r["note"]]
    notes += [
        f"- {r['label']}: the pool was spent before the end of the run by {r['threads_ran_dry']} "
        "wrk threads (the run then ends with the last one, so the rate holds; fewer samples)"
        for r in results["targets"].values()
        if r.get("threads_ran_dry")
    ]
    if notes:
        lines += ["", *notes]
    return "\n".join(lines) + "\n"


def chart(results: dict[str, Any], path: Path) -> Path | None:
    """A horizontal bar chart of each path's ratio to the ceiling; None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    rows = [r for r in results["targets"].values() if r["available"]]
    labels = [r["label"] for r in rows][::-1]
    ratios = [r["ratio"] for r in rows][::-1]
    colors = []
    for row in rows[::-1]:
        bar = row.get("bar")
        colors.append("#999999" if bar is None else ("#2a9d8f" if bar["met"] else "#e76f51"))
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(rows) + 1.5))
    ax.barh(labels, ratios, color=colors)
    for y, ratio in enumerate(ratios):
        ax.text(ratio + 0.01, y, f"{ratio:.2f}×", va="center", fontsize=8)
    for x, style in ((0.5, ":"), (0.75, "--"), (1.0, "-")):
        ax.axvline(x, color="black", linestyle=style, linewidth=0.8)
    m = results["machine"]
    ax.set_title(f"Throughput as a ratio of the ceiling ({m['mode']}, {m['date'][:10]})")
    ax.set_xlabel("× ceiling (green: bar met, red: missed, grey: no bar)")
    ax.set_xlim(0, max([1.1, *ratios]) + 0.15)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write(results: dict[str, Any], out: Path, mode: str) -> list[Path]:
    """``results.json``, ``results.md``, ``ratios.png``, and a copy of each named after ``mode``."""
    written = [out / "results.json", out / "results.md"]
    written[0].write_text(json.dumps(results, indent=2) + "\n")
    written[1].write_text(markdown(results))
    png = chart(results, out / "ratios.png")
    if png is not None:
        written.append(png)
    tag = mode.replace("+", "-")
    for path in list(written):
        copy = path.with_name(f"{path.stem}-{tag}{path.suffix}")
        shutil.copyfile(path, copy)
        written.append(copy)
    return written
