"""RBAC policy: pure functions over plain frozen data (no ORM, no request, no cache).

Every caller (token claims, introspection, AuthZEN decisions, the gateway, ``apply``) goes
through this module, so inheritance, matching and path normalisation have one definition.

A permission is either a *named permission* (``orders:read``) or an *endpoint rule*
``METHOD /path/pattern``:
- the method is case-sensitive (RFC 9110 §9.1: ``get`` is not ``GET``); ``*`` is any method;
- in the pattern, ``*`` is exactly one non-empty segment and ``**`` zero or more segments, so
  ``/api/orders/**`` also matches ``/api/orders``; partial wildcards (``ord*``) are refused;
- request paths are normalised before matching (``normalize_path``): the query string is
  dropped, a trailing slash ignored, percent-encoded unreserved characters decoded; a path with
  ``.``/``..`` segments, an encoded slash, an empty segment or anything but visible ASCII is
  denied rather than guessed at.
Rules are compiled once per permission set into one regular expression per method.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:\-]{0,99}")
NAMED_PERMISSION_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:\-]{0,149}")
# RFC 9110 §5.6.2 token characters, for methods.
METHOD_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,32}")
ANY_METHOD = "*"
MAX_PATH_LENGTH = 4096
# Bounds that keep matching linear enough: a path of more segments is denied, and a rule may
# hold at most two ``**`` (consecutive ones are merged), so no pattern backtracks badly.
MAX_PATH_SEGMENTS = 128
MAX_DOUBLE_STARS = 2
UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PERCENT_RE = re.compile(r"%(.{0,2})")
_HEX = frozenset("0123456789abcdefABCDEF")
_SEGMENT = "/[^/]+"


class PolicyError(ValueError):
    """A role, permission or graph that cannot be accepted; the message says why."""


# --- permissions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class EndpointRule:
    method: str
    segments: tuple[str, ...]  # normalised literals, "*" or "**"

    def __str__(self) -> str:
        return f"{self.method} /{'/'.join(self.segments)}"

    def regex(self) -> str:
        parts = []
        for segment in self.segments:
            if segment == "**":
                parts.append(f"(?:{_SEGMENT})*")
            elif segment == "*":
                parts.append(_SEGMENT)
            else:
                parts.append("/" + re.escape(segment))
        return "".join(parts)


def _decode_segment(segment: str) -> str | None:
    """Decode percent-encoded unreserved characters; None when the segment must be denied."""
    if not segment or segment in (".", ".."):
        return None
    if "%" not in segment:
        return segment

    def replace(match: re.Match[str]) -> str:
        digits = match.group(1)
        if len(digits) != 2 or not set(digits) <= _HEX:
            raise PolicyError("invalid percent-encoding")
        char = chr(int(digits, 16))
        if char == "/":
            raise PolicyError("encoded slash")
        return char if char in UNRESERVED else "%" + digits.upper()

    try:
        decoded = _PERCENT_RE.sub(replace, segment)
    except PolicyError:
        return None
    return None if decoded in (".", "..") else decoded


def normalize_path(path: object) -> tuple[str, ...] | None:
    """The segments of a request path, or None when the path is to be denied."""
    if not isinstance(path, str) or len(path) > MAX_PATH_LENGTH:
        return None
    path = path.split("?", 1)[0]
    # visible ASCII ("!" to "~") only, and no backslash or fragment
    if not (path.startswith("/") and path.isascii() and path.isprintable()) or any(
        c in path for c in " \\#"
    ):
        return None
    if path.endswith("/"):
        path = path[:-1]
    if not path:
        return ()
    raws = path[1:].split("/")
    if len(raws) > MAX_PATH_SEGMENTS:
        return None
    segments = []
    for raw in raws:
        decoded = _decode_segment(raw)
        if decoded is None:
            return None
        segments.append(decoded)
    return tuple(segments)


def parse_permission(text: object) -> str | EndpointRule:
    """A named permission (returned as its string) or an ``EndpointRule``; PolicyError if bad."""
    if not isinstance(text, str):
        raise PolicyError("a permission must be a string")
    if " " not in text:
        if not NAMED_PERMISSION_RE.fullmatch(text):
            raise PolicyError(
                f"{text!r} is neither a named permission (letters, digits, '_.:-') "
                "nor an endpoint rule 'METHOD /path'"
            )
        return text
    method, _, pattern = text.partition(" ")
    if not METHOD_RE.fullmatch(method) or (ANY_METHOD in method and method != ANY_METHOD):
        raise PolicyError(f"{text!r}: the method must be an HTTP method such as GET, or *")
    if "?" in pattern:
        raise PolicyError(f"{text!r}: a path pattern has no query string")
    segments = normalize_path(pattern)
    if segments is None:
        raise PolicyError(
            f"{text!r}: the path must start with '/' and have no empty, '.' or '..' segments"
        )
    merged: list[str] = []
    for segment in segments:
        if "*" in segment and segment not in ("*", "**"):
            raise PolicyError(f"{text!r}: '*' and '**' must be whole segments")
        if not (segment == "**" and merged and merged[-1] == "**"):
            merged.append(segment)
    if merged.count("**") > MAX_DOUBLE_STARS:
        raise PolicyError(f"{text!r}: at most {MAX_DOUBLE_STARS} '**' in one rule")
    return EndpointRule(method, tuple(merged))


def canonical_permission(text: object) -> str:
    """The stored form of a permission (validated; endpoint rules normalised)."""
    return str(parse_permission(text))


@dataclass(frozen=True)
class PermissionSet:
    """Compiled permissions: named ones in a set, endpoint rules as one regex per method."""

    named: frozenset[str]
    rules: tuple[EndpointRule, ...]
    _matchers: Mapping[str, re.Pattern[str]] = field(compare=False, repr=False)

    @functools.cached_property
    def strings(self) -> frozenset[str]:
        return self.named | {str(rule) for rule in self.rules}

    def allows(self, action: str, resource_type: object, resource_id: object) -> bool:
        if action in self.named:
            return True
        if resource_type != "route":
            return False
        segments = normalize_path(resource_id)
        if segments is None:
            return False
        path = "/" + "/".join(segments) if segments else ""
        for method in (action, ANY_METHOD):
            matcher = self._matchers.get(method)
            if matcher is not None and matcher.fullmatch(path):
                return True
        return False


def compile_permissions(permissions: Iterable[str]) -> PermissionSet:
    named: set[str] = set()
    rules: set[EndpointRule] = set()
    for text in permissions:
        parsed = parse_permission(text)
        if isinstance(parsed, EndpointRule):
            rules.add(parsed)
        else:
            named.add(parsed)
    by_method: dict[str, list[str]] = {}
    for rule in sorted(rules, key=str):
        by_method.setdefault(rule.method, []).append(rule.regex())
    matchers = {
        method: re.compile("|".join(f"(?:{r})" for r in patterns))
        for method, patterns in by_method.items()
    }
    return PermissionSet(frozenset(named), tuple(sorted(rules, key=str)), matchers)


def _segments_cover(held: tuple[str, ...], wanted: tuple[str, ...]) -> bool:
    """Whether every path ``wanted`` matches is matched by ``held`` (both rule patterns).

    ``*`` in ``held`` covers a literal or ``*``; only ``**`` covers ``**`` (which may be zero
    or many segments); a literal covers only the same literal. Sound: it never answers True
    for a pattern that matches a path ``held`` does not; it may answer False for an equivalent
    spelling (``/*/**`` against ``/**/*``), which only means refusing.
    """

    @functools.cache
    def match(i: int, j: int) -> bool:
        if i == len(held):
            return j == len(wanted)
        if held[i] == "**":
            return match(i + 1, j) or (j < len(wanted) and match(i, j + 1))
        if j == len(wanted) or wanted[j] == "**":
            return False
        if held[i] == "*" or held[i] == wanted[j]:
            return match(i + 1, j + 1)
        return False

    return match(0, 0)


def covers(held: PermissionSet, permission: str) -> bool:
    """Whether holding ``held`` includes everything ``permission`` allows: a named permission
    must be held as such; an endpoint rule must fall within a held rule (same method or
    ``*``, and a pattern matching every path the rule matches)."""
    wanted = parse_permission(permission)
    if not isinstance(wanted, EndpointRule):
        return wanted in held.named
    return any(
        rule.method in (ANY_METHOD, wanted.method)
        and _segments_cover(rule.segments, wanted.segments)
        for rule in held.rules
    )


# --- roles and the graph ----------------------------------------------------------------------


@dataclass(frozen=True)
class Role:
    name: str
    parents: tuple[str, ...] = ()
    permissions: frozenset[str] = frozenset()
    require_mfa: bool = False


@dataclass(frozen=True)
class RoleGraph:
    roles: Mapping[str, Role]

    @classmethod
    def of(cls, roles: Iterable[Role]) -> RoleGraph:
        return cls({role.name: role for role in roles})


@dataclass(frozen=True)
class Grant:
    """What a subject may do: effective roles (with ancestors) and compiled permissions."""

    roles: frozenset[str]
    permissions: PermissionSet
    require_mfa: bool

    def allows(self, action: str, resource_type: object, resource_id: object) -> bool:
        return self.permissions.allows(action, resource_type, resource_id)


NO_GRANT = Grant(frozenset(), compile_permissions(()), False)


def effective_roles(graph: RoleGraph, role_names: Iterable[str]) -> frozenset[str]:
    """The named roles that exist plus all their ancestors (unknown names are ignored)."""
    seen: set[str] = set()
    stack = [name for name in role_names if name in graph.roles]
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        stack.extend(p for p in graph.roles[name].parents if p in graph.roles)
    return frozenset(seen)


def _union(graph: RoleGraph, roles: frozenset[str]) -> frozenset[str]:
    return frozenset().union(*(graph.roles[name].permissions for name in roles))


def effective_permissions(graph: RoleGraph, role_names: Iterable[str]) -> frozenset[str]:
    """The union of the permissions of the roles and all their ancestors."""
    return _union(graph, effective_roles(graph, role_names))


def resolve(graph: RoleGraph, role_names: Iterable[str]) -> Grant:
    """The ``Grant`` of a subject holding ``role_names`` (compile once, then cache it)."""
    roles = effective_roles(graph, role_names)
    return Grant(
        roles=roles,
        permissions=compile_permissions(_union(graph, roles)),
        require_mfa=any(graph.roles[name].require_mfa for name in roles),
    )


def find_cycle(parents: Mapping[str, Iterable[str]]) -> list[str] | None:
    """A cycle in the parent relation as ``[a, b, ..., a]``, or None when it is acyclic."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    for start in sorted(parents):
        if start in state:
            continue
        path: list[str] = []
        stack: list[tuple[str, list[str]]] = [(start, sorted(parents.get(start, ())))]
        state[start] = 1
        path.append(start)
        while stack:
            node, pending = stack[-1]
            if not pending:
                stack.pop()
                path.pop()
                state[node] = 2
                continue
            child = pending.pop(0)
            if state.get(child) == 1:
                return path[path.index(child) :] + [child]
            if child not in state:
                state[child] = 1
                path.append(child)
                stack.append((child, sorted(parents.get(child, ()))))
    return None


def describe_cycle(cycle: list[str], kind: str = "roles") -> str:
    return f"{kind} would inherit from themselves: " + " -> ".join(cycle)


# --- groups (issue 20) ------------------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    name: str
    parents: tuple[str, ...] = ()
    roles: frozenset[str] = frozenset()


@dataclass(frozen=True)
class GroupGraph:
    groups: Mapping[str, Group]

    @classmethod
    def of(cls, groups: Iterable[Group]) -> GroupGraph:
        return cls({group.name: group for group in groups})

    def ancestry(self, name: str) -> frozenset[str]:
        """``name`` and every group it is inside, transitively (empty for an unknown name; a
        cycle, refused at write time, would only end the walk)."""
        seen: set[str] = set()
        stack = [name]
        while stack:
            current = stack.pop()
            if current in seen or current not in self.groups:
                continue
            seen.add(current)
            stack.extend(self.groups[current].parents)
        return frozenset(seen)


def group_roles(graph: GroupGraph, group_names: Iterable[str]) -> frozenset[str]:
    """The roles given by the named groups and every group they are inside (unknown names are
    ignored)."""
    return frozenset().union(
        *(graph.groups[ancestor].roles for name in group_names for ancestor in graph.ancestry(name))
    )


@dataclass(frozen=True)
class RoleSource:
    """One way a subject holds an effective role: the role ``held`` (the role itself, or one
    inheriting from it), given directly (``group`` None) or by the member ``group``, itself or
    through ``via``, the ancestor group that gives it (None: the group itself)."""

    held: str
    group: str | None = None
    via: str | None = None


def role_sources(
    roles: RoleGraph,
    groups: GroupGraph,
    direct: Iterable[str],
    member_of: Iterable[str],
) -> dict[str, tuple[RoleSource, ...]]:
    """For each effective role of a subject holding ``direct`` and member of ``member_of``,
    every way it comes to hold it, sorted (direct first): what the console's user page shows."""
    given: list[RoleSource] = [RoleSource(name) for name in sorted(set(direct))]
    for member in sorted(set(member_of)):
        for ancestor in sorted(groups.ancestry(member)):
            via = None if ancestor == member else ancestor
            given.extend(
                RoleSource(role, member, via) for role in sorted(groups.groups[ancestor].roles)
            )
    found: dict[str, list[RoleSource]] = {}
    for source in given:
        for role in sorted(effective_roles(roles, [source.held])):
            found.setdefault(role, []).append(source)
    return {role: tuple(dict.fromkeys(sources)) for role, sources in sorted(found.items())}


def decide(grant: Grant, *, action: object, resource_type: object, resource_id: object) -> bool:
    """AuthZEN semantics: a named permission equal to the action permits whatever the resource;
    an endpoint rule permits a ``route`` resource whose id (the path) it matches, with the
    action as the HTTP method. Anything else is a deny."""
    if not isinstance(action, str) or not action:
        return False
    return grant.allows(action, resource_type, resource_id)
