"""Bench-mode URLs (``AUTHSERVER_BENCH=true`` only): the "ceiling" view of ``make bench``.

It runs on the same handler as the machine endpoints (``/bench/`` is a machine prefix) and does
no work, so its throughput is what the stack itself costs: every hot path is reported against it.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import path


def ceiling(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True}, headers={"Cache-Control": "no-store"})


urlpatterns = [path("bench/ceiling", ceiling, name="bench-ceiling")]
