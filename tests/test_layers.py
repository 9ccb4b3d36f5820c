"""The floors of the house: which app may import which, read from the code with ``ast``.

``ALLOWED`` is the one map (docs/architecture.md draws it): an app imports itself and the apps
listed for it, nothing else. Imports inside functions count as much as those at the top of a
module (a deferred import is still a dependency). Tests, migrations and the benchmark code are
not apps' code and are not read; the project shell (settings, urls, wsgi, asgi, celery and the
server's own modules under ``authserver/``) stands on every app and nothing imports it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIP = {"tests", "migrations", "bench", "static", "templates", "docs", "examples", "scripts"}

# app -> the apps it may import (lowest floor first).
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "audit": {"core"},
    "abuse": {"core", "audit"},
    "branding": {"core", "audit"},
    "mail": {"core", "audit", "branding"},
    "accounts": {"core", "audit", "abuse", "mail"},
    "oauth": {"core", "audit", "abuse", "accounts", "mail"},
    "roles": {"core", "audit", "abuse", "accounts", "oauth"},
    "mfa": {"core", "audit", "abuse", "accounts", "oauth", "roles", "mail"},
    "apikeys": {"core", "audit", "abuse", "accounts", "oauth", "roles", "mfa"},
    "mgmt": {
        "core",
        "audit",
        "abuse",
        "accounts",
        "oauth",
        "roles",
        "mfa",
        "apikeys",
        "selfservice",
    },
    "setup": {"core", "audit", "accounts", "roles", "mfa"},
    "directory": {"core", "audit", "abuse", "accounts", "oauth", "roles"},
    "federation": {"core", "audit", "abuse", "accounts", "oauth", "roles", "mfa", "mgmt"},
    "selfservice": {
        "core",
        "audit",
        "abuse",
        "branding",
        "mail",
        "accounts",
        "oauth",
        "roles",
        "mfa",
    },
    "console": {
        "core",
        "audit",
        "abuse",
        "accounts",
        "oauth",
        "roles",
        "mfa",
        "apikeys",
        "mgmt",
        "directory",
        "federation",
        "selfservice",
    },
}
SHELL = "authserver"


def apps() -> list[str]:
    return sorted(
        p.name
        for p in ROOT.iterdir()
        if p.is_dir() and p.name not in SKIP and (p / "__init__.py").exists()
    )


def modules() -> dict[str, Path]:
    found = {}
    for app in apps():
        for path in (ROOT / app).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if SKIP & set(parts):
                continue
            found[".".join(parts).removesuffix(".__init__")] = path
    return found


def imports(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def test_every_app_is_on_a_floor() -> None:
    assert set(apps()) == set(ALLOWED) | {SHELL}


def test_no_app_imports_a_higher_floor() -> None:
    forbidden = set()
    for module, path in modules().items():
        app = module.split(".")[0]
        if app == SHELL:
            continue
        for name in imports(path):
            other = name.split(".")[0]
            if other in ALLOWED.keys() | {SHELL} and other != app and other not in ALLOWED[app]:
                forbidden.add((app, other, module, name))
    assert not forbidden, sorted(forbidden)


def _cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(frozenset(component))
    return found


def test_no_module_import_cycle() -> None:
    known = modules()
    graph = {
        module: {name for name in imports(path) if name in known and name != module}
        for module, path in known.items()
    }
    assert _cycles(graph) == []
