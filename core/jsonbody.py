"""JSON request bodies with bounded nesting: the one parser of every JSON surface (the
management API's DRF parser, AuthZEN).

Python's ``json`` recurses once per level: a body nested a few thousand deep raises
``RecursionError``, and a few hundred deep is still accepted and walked by whatever reads it
next. No request of ours needs more than a handful of levels, so anything deeper than
``MAX_DEPTH`` is refused as malformed.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 64


class MalformedJson(ValueError):
    """The body is not JSON, or nests deeper than ``MAX_DEPTH``."""


def loads(body: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """``body`` parsed (strictly: no ``NaN``/``Infinity``), or ``MalformedJson`` saying why
    not."""
    try:
        text = body if isinstance(body, str) else body.decode(json.detect_encoding(body))
        value = _decoder.decode(text)
    except RecursionError:
        raise MalformedJson(f"JSON nested deeper than {max_depth} levels.") from None
    except ValueError as exc:  # JSONDecodeError, and bytes that are not UTF-8/16/32
        raise MalformedJson(f"The body is not valid JSON: {exc}") from None
    if _openers(body) > max_depth and _depth_exceeds(value, max_depth):
        raise MalformedJson(f"JSON nested deeper than {max_depth} levels.")
    return value


def _openers(body: bytes | str) -> int:
    """How many ``{`` and ``[`` the body holds (in strings too): an upper bound of its depth,
    counted in C, so a body of ordinary size is never walked."""
    if isinstance(body, str):
        return body.count("{") + body.count("[")
    return body.count(b"{") + body.count(b"[")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (RFC 8259 §6)")


# built once: ``json.loads`` with an argument builds a decoder per call
_decoder = json.JSONDecoder(parse_constant=_refuse_constant)


def _depth_exceeds(value: Any, max_depth: int) -> bool:
    """Whether arrays/objects in ``value`` nest more than ``max_depth`` deep (iterative: no
    recursion on attacker-shaped data). Scalars cost nothing beyond the parse."""
    pending = [(value, 1)] if isinstance(value, dict | list) else []
    while pending:
        container, depth = pending.pop()
        if depth > max_depth:
            return True
        children = container.values() if isinstance(container, dict) else container
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False
