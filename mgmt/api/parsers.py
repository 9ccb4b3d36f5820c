"""The management API's request parser: JSON through ``core.jsonbody`` (bounded nesting)."""

from __future__ import annotations

from typing import IO, Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from core import jsonbody


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser with nesting bounded (``core.jsonbody.MAX_DEPTH``): a body nested
    thousands deep is a 400 problem, not a ``RecursionError``. DRF calls it only when there
    is a body."""

    def parse(
        self, stream: IO[bytes], media_type: str | None = None, parser_context: Any = None
    ) -> Any:
        try:
            return jsonbody.loads(stream.read())
        except jsonbody.MalformedJson as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
