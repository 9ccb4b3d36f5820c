"""The ceiling of ``make bench``: a bare Django view, no middleware, no database.

Served by gunicorn's sync worker, 2 processes (``bench.load.CEILING``), on its own port beside the
server under test: issue 18's ceiling, the same whatever server and worker count the shipped
defaults use, so that a faster server shows as a ratio above what the stack costs.
"""

from __future__ import annotations

from django.conf import settings

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench-ceiling-only",  # noqa: S106 - signs nothing: no sessions, no cookies
        ALLOWED_HOSTS=["127.0.0.1", "localhost"],
        ROOT_URLCONF=__name__,
        MIDDLEWARE=[],
        INSTALLED_APPS=[],
        DATABASES={},
        USE_TZ=True,
    )

import django  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.http import HttpRequest, JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402

django.setup(set_prefix=False)


def ceiling(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True}, headers={"Cache-Control": "no-store"})


urlpatterns = [path("bench/ceiling", ceiling)]

application = get_wsgi_application()
