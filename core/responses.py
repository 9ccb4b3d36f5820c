"""JSON answers of the hot machine endpoints."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django.http import HttpResponse


def json_response(data: Any, headers: Mapping[str, str]) -> HttpResponse:
    """``data`` (plain JSON types) as an ``application/json`` response. ``JsonResponse`` builds a
    ``DjangoJSONEncoder`` for every response; ``json.dumps`` reuses the module's encoder."""
    return HttpResponse(json.dumps(data), content_type="application/json", headers=headers)
