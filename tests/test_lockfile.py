"""The hash lock matches pyproject.toml: every dependency pinned, in range, with hashes."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\]+)")


def _locked(path: Path) -> dict[str, tuple[str, int]]:
    """{name: (version, number of hashes)} from a pip-compile --generate-hashes file."""
    pins: dict[str, tuple[str, int]] = {}
    current = None
    for line in path.read_text().splitlines():
        match = PIN.match(line)
        if match:
            current = canonicalize_name(match.group(1))
            pins[current] = (match.group(2), 0)
        elif current and line.strip().startswith("--hash=sha256:"):
            version, hashes = pins[current]
            pins[current] = (version, hashes + 1)
    return pins


def _requirements(extra: str | None = None) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    listed = project["optional-dependencies"][extra] if extra else project["dependencies"]
    return [Requirement(item) for item in listed]


@pytest.mark.parametrize(
    "lock, requirements",
    [
        ("requirements.lock", _requirements()),
        ("requirements-dev.lock", _requirements() + _requirements("dev")),
    ],
)
def test_every_dependency_is_locked_in_range_with_hashes(lock, requirements):
    pins = _locked(ROOT / lock)
    assert pins and all(hashes > 0 for _, hashes in pins.values()), "every pin needs hashes"
    for requirement in requirements:
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement.name} is not in {lock}: run `make lock`"
        version = pins[name][0]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{lock} pins {requirement.name}=={version}, outside {requirement.specifier}"
        )
