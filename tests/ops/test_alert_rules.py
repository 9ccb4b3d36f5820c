"""examples/alerts.yml is a valid Prometheus rule file that only uses metrics we export."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import yaml
from prometheus_client import REGISTRY

from tests.ops.servers import ROOT

RULES = ROOT / "examples/alerts.yml"
DURATION = re.compile(r"^([0-9]+(ms|s|m|h|d|w|y))+$")
REQUIRED_ALERTS = {
    "AuthserverBruteForceSpike",
    "AuthserverTokenErrorRate",
    "AuthserverRefreshTokenReuse",
    "AuthserverIntrospectionLatencySLO",
}


def _rules() -> list[dict]:
    document = yaml.safe_load(RULES.read_text())
    assert set(document) == {"groups"}
    rules = []
    for group in document["groups"]:
        assert set(group) <= {"name", "interval", "rules"} and group["name"]
        rules.extend(group["rules"])
    return rules


def _exported_series() -> set[str]:
    import core.metrics  # noqa: F401 - registers the metrics

    names = set()
    for metric in REGISTRY.collect():
        if metric.name.startswith("authserver_"):
            names |= {
                f"{metric.name}_total",
                f"{metric.name}_bucket",
                f"{metric.name}_count",
                f"{metric.name}_sum",
                metric.name,
            }
    return names


def test_every_rule_has_the_fields_prometheus_requires():
    rules = _rules()
    assert REQUIRED_ALERTS <= {rule["alert"] for rule in rules}
    for rule in rules:
        assert set(rule) <= {"alert", "expr", "for", "keep_firing_for", "labels", "annotations"}
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", rule["alert"])
        assert isinstance(rule["expr"], str) and rule["expr"].strip()
        assert "for" not in rule or DURATION.match(rule["for"])
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]


def test_rules_only_use_metrics_the_server_exports():
    exported = _exported_series()
    used = {name for rule in _rules() for name in re.findall(r"authserver_[a-z_]+", rule["expr"])}
    assert used and used <= exported, used - exported


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed")
def test_promtool_accepts_the_rules():
    result = subprocess.run(
        ["promtool", "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
